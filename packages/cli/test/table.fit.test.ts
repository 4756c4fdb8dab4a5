/** Tables fitted to a width: the widest text column gives way first, numbers and fixed columns never; cuts end in "…". */
import { describe, expect, it } from "vitest";
import { fitWidths, table } from "../src/table.js";
import { truncate, truncateStyled, widthOf } from "../src/terminal.js";

describe("fitWidths", () => {
  it.each([
    // natural, min, width → fitted (gap 2)
    [[10, 30, 20], [4, 4, 4], undefined, [10, 30, 20]],
    [[10, 30, 20], [4, 4, 4], 64, [10, 30, 20]],
    [[10, 30, 20], [4, 4, 4], 54, [10, 20, 20]],
    [[10, 30, 20], [4, 4, 4], 44, [10, 15, 15]],
    [[10, 30, 20], [10, 4, 20], 40, [10, 6, 20]],
    [[10, 30, 20], [10, 30, 20], 40, [10, 30, 20]],
  ])("%j (min %j) in %s columns → %j", (natural, min, width, fitted) => {
    expect(fitWidths(natural, min, width)).toEqual(fitted);
  });
});

describe("table", () => {
  it("cuts the widest text column with an ellipsis, keeps numbers and fixed columns whole", () => {
    const t = table(
      ["NAME", "N", "WHEN", "NOTE"],
      [["a-rather-long-name", 123456, "05-31 14:02", "a note that goes on and on"]],
      { width: 40, fixed: ["WHEN"] },
    );
    expect(t.split("\n")).toEqual(["NAME           N  WHEN         NOTE", "a-rathe…  123456  05-31 14:02  a note t…"]);
  });
});

describe("terminal", () => {
  it("truncate and truncateStyled cut to the width, the last column an ellipsis; colour codes do not count", () => {
    expect(truncate("abcdef", 6)).toBe("abcdef");
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncateStyled("\x1b[31mabcdef\x1b[39m", 6)).toBe("\x1b[31mabcdef\x1b[39m");
    expect(truncateStyled("\x1b[31mabcdef\x1b[39m", 4)).toBe("\x1b[31mabc…\x1b[0m");
  });

  it("width: $COLUMNS, else a terminal's columns, else 80", () => {
    const write = () => true;
    expect(widthOf({ isTTY: true, columns: 120, write }, { COLUMNS: "100" })).toBe(100);
    expect(widthOf({ isTTY: true, columns: 120, write }, {})).toBe(120);
    expect(widthOf({ isTTY: false, columns: 120, write }, { COLUMNS: "" })).toBe(80);
    expect(widthOf({ write }, { COLUMNS: "wide" })).toBe(80);
  });
});
