/**
 * Launchers checked against launcher definitions: the kinds a parse is given,
 * a config's own `launchers`, and no definitions at all (any kind passes).
 * Definitions here are plain objects; the worker's built-ins are tested in
 * packages/worker/test/launcher.config.test.ts.
 */
import { describe, expect, it } from "vitest";
import { issuesOf } from "../../../test/harness/config-issues.js";
import { type LauncherDefinition, parseConfig, parseJobType, parseLauncher, z } from "../src/index.js";

const created: unknown[] = [];
const ftp: LauncherDefinition = {
  kind: "ftp",
  schema: z.strictObject({ host: z.string().min(1), port: z.int().min(1).default(21) }),
  create: (options) => created.push(options),
};
const mail: LauncherDefinition = {
  kind: "mail",
  schema: z.strictObject({ to: z.email() }),
  create: () => undefined,
};

describe("launchers checked against the given definitions", () => {
  it("fills the kind's defaults and keeps its kind", () => {
    const t = parseJobType({ name: "a", launcher: { kind: "ftp", host: "files" } }, "job type", [ftp]);
    expect(t.launcher).toEqual({ kind: "ftp", host: "files", port: 21 });
  });

  it("names an unknown kind with the known ones, and a missing kind", () => {
    const unknown = issuesOf(() => parseJobType({ name: "a", launcher: { kind: "sftp" } }, "t", [ftp, mail]));
    expect(unknown).toEqual([
      { path: "launcher.kind", message: "unknown launcher kind; expected 'ftp' | 'mail'", value: "sftp" },
    ]);
    const missing = issuesOf(() => parseJobType({ name: "a", launcher: { host: "x" } }, "t", [ftp]));
    expect(missing).toEqual([{ path: "launcher.kind", message: "give the launcher's kind: 'ftp'" }]);
  });

  it("reports the kind's schema issues under the launcher's path", () => {
    const issues = issuesOf(() =>
      parseConfig({ jobTypes: [{ name: "a", launcher: { kind: "ftp", port: 0, passive: true } }] }, "c", [ftp]),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      "jobTypes[0].launcher.host",
      "jobTypes[0].launcher.passive",
      "jobTypes[0].launcher.port",
    ]);
    expect(issues.find((i) => i.path.endsWith("port"))).toMatchObject({
      value: 0,
      message: expect.stringMatching(/>=1/),
    });
  });
});

describe("a config's own launchers", () => {
  it("adds its kinds to the given ones, also without any given", () => {
    const raw = { launchers: [mail], jobTypes: [{ name: "a", launcher: { kind: "mail", to: "ops@example.com" } }] };
    expect(parseConfig(raw, "c", [ftp]).jobTypes[0]?.launcher).toEqual({ kind: "mail", to: "ops@example.com" });
    const bad = { ...raw, jobTypes: [{ name: "a", launcher: { kind: "mail", to: "nobody" } }] };
    expect(issuesOf(() => parseConfig(bad, "c"))[0]?.path).toBe("jobTypes[0].launcher.to");
    const unknown = { ...raw, jobTypes: [{ name: "a", launcher: { kind: "fax" } }] };
    expect(issuesOf(() => parseConfig(unknown, "c", [ftp]))[0]?.message).toBe(
      "unknown launcher kind; expected 'ftp' | 'mail'",
    );
  });

  it("refuses what is no definition, and a kind defined twice", () => {
    const jobTypes = [{ name: "a", launcher: { kind: "ftp", host: "h" } }];
    const notOne = issuesOf(() => parseConfig({ launchers: [{ kind: "x" }], jobTypes }, "c", [ftp]));
    expect(notOne[0]).toMatchObject({ path: "launchers[0]", message: expect.stringMatching(/defineLauncher/) });
    const twice = issuesOf(() => parseConfig({ launchers: [mail, ftp, mail], jobTypes }, "c", [ftp]));
    expect(twice.map((i) => [i.path, i.message])).toEqual([
      ["launchers[1].kind", "kind 'ftp' is already defined by a built-in launcher; give yours another name"],
      ["launchers[2].kind", "kind 'mail' is already defined by launchers[0]; give yours another name"],
    ]);
  });
});

describe("without definitions", () => {
  it("lets any kind pass as it is (the manager runs no launcher)", () => {
    const launcher = { kind: "anything", whatever: [1] };
    expect(parseConfig({ jobTypes: [{ name: "a", launcher }] }).jobTypes[0]?.launcher).toEqual(launcher);
    expect(issuesOf(() => parseJobType({ name: "a", launcher: { kind: 5 } }))[0]).toEqual({
      path: "launcher.kind",
      message: "give the launcher's kind",
      value: 5,
    });
  });
});

describe("parseLauncher", () => {
  it("returns what parseConfig checked without checking it again, else checks it now", () => {
    const config = parseConfig({ jobTypes: [{ name: "a", launcher: { kind: "ftp", host: "h" } }] }, "c", [ftp]);
    const spec = config.jobTypes[0]?.launcher;
    if (!spec) throw new Error("no launcher");
    expect(parseLauncher(spec, [])).toEqual({ definition: ftp, options: { host: "h", port: 21 } });
    expect(parseLauncher({ kind: "ftp", host: "h2" }, [ftp]).options).toEqual({ host: "h2", port: 21 });
    expect(() => parseLauncher({ kind: "ftp" }, [ftp], "launcher of job type a")).toThrow(
      /invalid launcher of job type a:\n {2}- launcher\.host: required/,
    );
    expect(() => parseLauncher({ kind: "ftp", host: "h" }, [mail])).toThrow(
      /launcher\.kind: unknown launcher kind; expected 'mail' \(got "ftp"\)/,
    );
  });
});
