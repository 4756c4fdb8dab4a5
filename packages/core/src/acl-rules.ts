/**
 * The Redis ACL rules of batchjob's four roles: the `ACL SETUSER` arguments a
 * role's user needs and nothing more. The key patterns are built from
 * `keys.ts`, so they follow the key layout. One source for `batchjob acl`,
 * docs/security.md and test/e2e/acl.roles.test.ts, which runs a deployment
 * under these users and checks what each one is refused.
 */
import { DEFAULT_PREFIX, makeKeys, type TypeKeyName } from "./keys.js";

/** The roles, in the order `batchjob acl` prints them. */
export const ACL_ROLES = ["producer", "worker", "manager", "monitor"] as const;
export type AclRole = (typeof ACL_ROLES)[number];

export function isAclRole(role: unknown): role is AclRole {
  return typeof role === "string" && (ACL_ROLES as readonly string[]).includes(role);
}

/**
 * What one role may do, for people (`batchjob acl` prints it above the rules,
 * the docs list it).
 */
export const ACL_ROLE_SUMMARY: Record<AclRole, string> = {
  producer: "enqueue items and read a type's counts; nothing else",
  worker:
    "run chunks: its job types' keys, its host's heartbeat, the worker list and history, the dispatch inboxes, the drain requests, the paused types (read)",
  manager:
    "everything under the prefix: the leader lease, the published config, decisions, dispatch, the reaper; pause, resume and drain",
  monitor: "read everything under the prefix (status, history, dead list); write nothing",
};

/**
 * Every rule starts from nothing, so running the command again replaces the
 * rules and keeps the user's passwords (which these rules never set).
 */
const FROM_NOTHING = ["on", "resetkeys", "resetchannels", "clearselectors", "-@all"];

/**
 * What every connection sends before any work: PING (the CLI's reachability
 * check), HELLO (ioredis), CLIENT SETNAME (connections are named), SELECT (a
 * URL's `/db`), QUIT. INFO is in `@dangerous` (it shows server details, no
 * data): ioredis's ready check reads it to wait while Redis loads its data
 * after a restart, and BullMQ reads the server version from it. Comes after
 * `-@dangerous` in a role's rules (rules apply in order).
 */
const CONNECTION = ["+ping", "+hello", "+client|setname", "+select", "+quit", "+info"];

/**
 * The daemons' commands: every key read and write, then without what reaches
 * past the key patterns or the server itself: `@dangerous` (FLUSHALL, KEYS,
 * CONFIG, ...), FUNCTION (FUNCTION FLUSH drops every library of the server)
 * and SCAN/RANDOMKEY (key names of the whole server, other applications'
 * too). Their Lua scripts and BullMQ's run through EVAL/EVALSHA, each command
 * inside checked against these same rules.
 */
const DAEMON_COMMANDS = [
  "+@read",
  "+@write",
  "-@dangerous",
  "-function",
  "-scan",
  "-randomkey",
  "+multi",
  "+exec",
  "+discard",
  "+eval",
  "+evalsha",
  "+time",
];

/** The enqueue script's keys, in its header's order (what EVAL declares, so needs read and write). */
const ENQUEUE_KEYS: TypeKeyName[] = ["pending", "ids", "seq", "stats", "activity", "wake", "since"];

/** The glob patterns of a job type's keys, every type at once: `<prefix>:{*}:pending`, ... */
function typePatterns(prefix: string): Record<TypeKeyName | "chunk" | "group" | "minute", string> {
  // a valid type name stands in for every type; its hash tag becomes {*} (no type name holds a brace)
  const sample = "T";
  const k = makeKeys(prefix).type(sample);
  const anyType = (key: string) => key.replace(`:{${sample}}:`, ":{*}:");
  const out: Partial<Record<TypeKeyName | "chunk" | "group" | "minute", string>> = {};
  for (const [name, key] of Object.entries(k)) {
    if (typeof key === "string") out[name as TypeKeyName] = anyType(key);
  }
  out.chunk = anyType(k.chunk("*"));
  out.group = anyType(k.group("*"));
  out.minute = anyType(`${k.minute("")}*`);
  return out as Record<TypeKeyName | "chunk" | "group" | "minute", string>;
}

function producerRules(prefix: string): string[] {
  const keys = makeKeys(prefix);
  const t = typePatterns(prefix);
  const scriptKeys = ENQUEUE_KEYS.map((name) => `~${t[name]}`);
  return [
    // enqueue without caller ids: INCRBY seq, then RPUSH pending, HINCRBY stats, INCRBY activity,
    // LPUSH + LTRIM of the wake list and the mark-pushed script (HINCRBY stats, ZADD since) in one MULTI; then
    // SADD of the type to the control plane's type list
    "+incrby",
    "+zadd",
    // the enqueue mark's time: Redis's clock (TIME), the one all hosts share
    "+time",
    "+rpush",
    "+lpush",
    "+ltrim",
    "+hincrby",
    "+sadd",
    "+multi",
    "+exec",
    "+discard",
    // counts(): numbers only, never an item
    "+llen",
    "+zcard",
    "+hmget",
    // the published config, for the shard count of a type spread over shards (#12; it holds no secret)
    "+get",
    ...CONNECTION,
    // write only: RPUSH and SADD need no read permission, so no command can read a payload or an id back
    `%W~${t.pending}`,
    `%W~${t.ids}`,
    `%W~${keys.types}`,
    `~${t.seq}`,
    `~${t.stats}`,
    `~${t.activity}`,
    // LTRIM reads the list it trims; the wake list holds one "1" at most, nothing of an item
    `~${t.wake}`,
    // the enqueue marks (push counts and times; ZADD reads the set it writes), nothing of an item
    `~${t.since}`,
    // ZCARD of a type's delayed, leased and dead items (key names only; no command here reads their members)
    `%R~${t.delayed}`,
    `%R~${t.leases}`,
    `%R~${t.dead}`,
    `%R~${keys.config}`,
    // the Python and PHP clients' keyed items without caller ids on a shard above 0: SET of that shard's id counter
    // to the ids reserved from shard 0's, in the MULTI before the enqueue script (no more than INCRBY could do)
    `(+set ~${t.seq})`,
    // enqueue with caller ids: the enqueue script; the mark-pushed script of the MULTI path (its keys are some of
    // these). EVAL asks read and write on the keys it declares, so it gets
    // them in a selector of its own; each command inside the script still needs the rules above, so a script can
    // do no more than the commands it could send itself
    `(+eval +evalsha ${scriptKeys.join(" ")})`,
  ];
}

function workerRules(prefix: string): string[] {
  const keys = makeKeys(prefix);
  const t = typePatterns(prefix);
  return [
    ...DAEMON_COMMANDS,
    ...CONNECTION,
    // every key of every job type (a chunk moves through most of them)
    ...Object.values(t).map((p) => `~${p}`),
    // the control plane: only what a worker host writes; not the leader lease, config, decisions, load, types
    `~${keys.workers}`,
    `~${keys.history}`,
    `~${keys.hostBeats}`,
    `~${keys.hostInfo}`,
    `~${keys.bullPrefix}:*`,
    // the drain requests (`batchjob drain`): a worker reads whether it is asked and removes its own id on exit
    `~${keys.draining}`,
    // the paused types: a worker stops the workers of a paused type after their chunk (read only)
    `%R~${keys.paused}`,
  ];
}

function managerRules(prefix: string): string[] {
  // every key of the deployment, and no other: all of them start with `<prefix>:{` (a prefix `bj` does not reach
  // a deployment of prefix `bj:eu`)
  return [...DAEMON_COMMANDS, ...CONNECTION, `~${prefix}:{*`];
}

function monitorRules(prefix: string): string[] {
  return [
    "+@read",
    "-@dangerous",
    "-scan",
    "-randomkey",
    "+multi",
    "+exec",
    "+discard",
    "+time",
    ...CONNECTION,
    `%R~${prefix}:{*`,
    // status lists hosts with a read-only script: EVAL asks read and write on its declared keys, but every
    // command inside is checked against the rules above, which hold no write command
    `(+eval +evalsha ~${prefix}:{*)`,
  ];
}

/**
 * The `ACL SETUSER <user>` arguments of `role` for keys under `prefix`, one
 * rule per element (a selector is one element, in parentheses). No password:
 * set it with `ACL SETUSER <user> ><password>`; running the rules again keeps it.
 */
export function aclRules(role: AclRole, prefix: string = DEFAULT_PREFIX): string[] {
  const rules =
    role === "producer"
      ? producerRules(prefix)
      : role === "worker"
        ? workerRules(prefix)
        : role === "manager"
          ? managerRules(prefix)
          : monitorRules(prefix);
  return [...FROM_NOTHING, ...rules];
}

/** The user name `batchjob acl` suggests: `<prefix>-<role>`. */
export function aclUserName(role: AclRole, prefix: string = DEFAULT_PREFIX): string {
  return `${prefix}-${role}`;
}

/** One `ACL SETUSER` line as redis-cli reads it (from a prompt or stdin): arguments with spaces in double quotes. */
export function aclSetUserLine(user: string, rules: string[]): string {
  const quote = (arg: string) => (/[\s"']/.test(arg) ? `"${arg.replace(/["\\]/g, "\\$&")}"` : arg);
  return ["ACL", "SETUSER", user, ...rules].map(quote).join(" ");
}
