/**
 * The ACL rules docs/security.md shows are what `batchjob acl` prints and
 * what `aclRules` returns (one source: a rule changed in code fails here
 * until the docs show it), and the command's flags.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ACL_ROLES, aclRules, aclSetUserLine, aclUserName, DEFAULT_PREFIX } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { runCli } from "../harness/processes.js";

const SECURITY_MD = fileURLToPath(new URL("../../docs/security.md", import.meta.url));

/** The lines between the docs' `<!-- acl-rules -->` markers, inside the code fence. */
function documentedRules(): string[] {
  const text = readFileSync(SECURITY_MD, "utf8");
  const m = /<!-- acl-rules[^>]*-->\n```\n([\s\S]*?)\n```\n<!-- \/acl-rules -->/.exec(text);
  if (!m) throw new Error("docs/security.md has no <!-- acl-rules --> block");
  return (m[1] as string).split("\n");
}

describe("batchjob acl", () => {
  it("prints what docs/security.md shows, which is what aclRules returns", async () => {
    const r = await runCli(["acl", "--prefix", DEFAULT_PREFIX]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const fromCode = ACL_ROLES.map((role) => aclSetUserLine(aclUserName(role), aclRules(role)));
    expect(r.stdout.trimEnd().split("\n")).toEqual(fromCode);
    expect(documentedRules()).toEqual(fromCode);
  });

  it("takes the prefix and a user name; refuses an unknown role", async () => {
    const r = await runCli(["acl", "monitor", "--prefix", "eu.jobs", "--user", "dash"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(aclSetUserLine("dash", aclRules("monitor", "eu.jobs")));
    expect(r.stdout).toContain("%R~eu.jobs:{* ");
    expect(r.stdout).not.toContain("bj:");
    const unknown = await runCli(["acl", "admin"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown role "admin"');
    const twoUsers = await runCli(["acl", "worker", "manager", "--user", "x"]);
    expect(twoUsers.code).toBe(2);
  });
});
