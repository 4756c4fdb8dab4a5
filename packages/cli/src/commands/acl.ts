/** `batchjob acl [ROLE...]`: prints the Redis ACL users of the roles, for an operator to run in redis-cli. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import {
  ACL_ROLE_SUMMARY,
  ACL_ROLES,
  type AclRole,
  aclRules,
  aclSetUserLine,
  aclUserName,
  defaults,
  isAclRole,
  UsageError,
} from "@batchjob/core";
import { str } from "../args.js";
import { CONFIG_NAMES, type Command, findConfig } from "../command.js";
import { DEFAULT_WIDTH, wrapWords } from "../terminal.js";

/** A role and its summary, wrapped to 80 columns under its own column. */
function roleLine(role: AclRole): string {
  return wrapWords(ACL_ROLE_SUMMARY[role], DEFAULT_WIDTH - 13)
    .map((l, i) => `${i === 0 ? `  ${role.padEnd(9)}  ` : " ".repeat(13)}${l}`)
    .join("\n");
}

export const aclCommand: Command = {
  name: "acl",
  summary: "print the Redis ACL users of the roles (producer, worker, manager, monitor)",
  help: `Usage: batchjob acl [ROLE...] [--prefix P] [--user NAME]

Prints one ACL SETUSER line per role (all four when none is named): the
least each role needs under the key prefix, as docs/security.md explains.
${ACL_ROLES.map(roleLine).join("\n")}
The lines set no password; running them again replaces the rules and keeps
the passwords. Give each user one, then use it in that role's REDIS_URL
(redis://bj-worker:PASSWORD@host:6379).

Options:
  --prefix P           key prefix (default: $BATCHJOB_PREFIX, else the
                       config's prefix, else "${defaults.prefix}")
  --config FILE        read the prefix from this config (optional;
                       batchjob.config.* in the working folder is used
                       when present)
  --user NAME          the user name, with one ROLE (default: PREFIX-ROLE)
  -h, --help           this help

Examples:
  batchjob acl | redis-cli --user admin --askpass
  redis-cli ACL SETUSER bj-worker '>a-long-random-password'`,
  flags: { prefix: { type: "string" }, config: { type: "string" }, user: { type: "string" } },
  maxPositionals: ACL_ROLES.length,
  async run(p, io) {
    const roles: AclRole[] = [];
    for (const r of p.positionals) {
      if (!isAclRole(r)) throw new UsageError(`unknown role ${JSON.stringify(r)}: use ${ACL_ROLES.join(", ")}`);
      roles.push(r);
    }
    if (roles.length === 0) roles.push(...ACL_ROLES);
    const user = str(p, "user");
    if (user !== undefined && roles.length !== 1) throw new UsageError("--user names the user of one ROLE: name it");
    const prefix = await prefixOf(p, io);
    // commands only, no comment lines: the output is meant to be piped into redis-cli
    for (const role of roles) io.out(aclSetUserLine(user ?? aclUserName(role, prefix), aclRules(role, prefix)));
    return 0;
  },
};

/** --prefix, else $BATCHJOB_PREFIX, else the config's (when one is given or found), else the default. */
async function prefixOf(p: Parameters<Command["run"]>[0], io: Parameters<Command["run"]>[1]): Promise<string> {
  const flag = str(p, "prefix") ?? io.env.BATCHJOB_PREFIX;
  if (flag !== undefined) return flag;
  const file = str(p, "config") ?? io.env.BATCHJOB_CONFIG ?? CONFIG_NAMES.find((n) => existsSync(resolve(io.cwd, n)));
  return file ? (await findConfig(file, io)).config.prefix : defaults.prefix;
}
