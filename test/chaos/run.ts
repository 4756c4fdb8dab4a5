/**
 * `pnpm chaos`: runs each fault scenario against real daemons and real
 * redis-servers and prints one row per scenario (see docs/reliability.md).
 *   1. load the built tree under test (CHAOS_ROOT or --root, else this repo);
 *   2. start the sink redis-server;
 *   3. run the selected scenarios one after another, printing each row as it ends;
 *   4. print the table (text, or markdown with --markdown), write --json, stop the sink.
 * Options (flags win over the environment): --scale X (CHAOS_SCALE, default 1:
 * item counts and fault counts scale with it), --only a,b (CHAOS_ONLY),
 * --seed N (CHAOS_SEED), --keep-logs (CHAOS_KEEP_LOGS=1), --json FILE, --markdown,
 * --log-level L (CHAOS_LOG_LEVEL, the daemons' BATCHJOB_LOG_LEVEL, default warn).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadCodeUnderTest } from "./core.js";
import { removeLeftovers } from "./netns.js";
import { killEverything } from "./procs.js";
import { formatTable, type Row } from "./report.js";
import type { Scenario, ScenarioContext } from "./scenario.js";
import { SCENARIOS } from "./scenarios/index.js";
import { startSink } from "./sink.js";
import { killServersNow } from "./stack.js";
import { Rng } from "./util.js";

const HELP = `Usage: pnpm chaos [-- options]

Runs batchjob's fault scenarios against real daemons and real Redis and
prints, per scenario: items enqueued, processed, duplicated, dead (healthy /
poison), lost, still queued, time to recover and total time.

Options:
  --scale X        item and fault counts × X (default $CHAOS_SCALE, else 1; 0.2 is a quick run)
  --only A,B       run only these scenarios (default $CHAOS_ONLY, else all): ${SCENARIOS.map((s) => s.name).join(", ")}
  --root DIR       the built repository to test (default $CHAOS_ROOT, else this one)
  --seed N         random seed for victims and poison positions (default $CHAOS_SEED, else random)
  --json FILE      also write the rows as JSON
  --markdown       print the table as markdown
  --keep-logs      keep the daemons' logs and configs (default: kept only when a scenario fails)
  --log-level L    the daemons' log level (default $CHAOS_LOG_LEVEL, else warn)
  -h, --help       this help`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: "string" },
      only: { type: "string" },
      root: { type: "string" },
      seed: { type: "string" },
      json: { type: "string" },
      markdown: { type: "boolean" },
      "keep-logs": { type: "boolean" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const env = process.env;
  const scale = Number(values.scale ?? env.CHAOS_SCALE ?? 1);
  if (!(scale > 0)) throw new Error(`--scale must be a number > 0, got ${values.scale ?? env.CHAOS_SCALE}`);
  const only = (values.only ?? env.CHAOS_ONLY)?.split(",").filter(Boolean);
  const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0)
    throw new Error(`unknown scenario ${unknown.join(", ")}; use ${SCENARIOS.map((s) => s.name).join(", ")}`);
  const seed = Number(values.seed ?? env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const keepLogs = values["keep-logs"] === true || env.CHAOS_KEEP_LOGS === "1";
  const selected = SCENARIOS.filter((s) => !only || only.includes(s.name));

  const code = await loadCodeUnderTest(values.root ?? env.CHAOS_ROOT);
  const runDir = mkdtempSync(join(tmpdir(), "bj-chaos-"));
  const log = (msg: string) => process.stderr.write(`[chaos] ${msg}\n`);
  log(`testing ${code.root} (core ${code.core.VERSION}), scale ${scale}, seed ${seed}, logs in ${runDir}`);
  const sink = await startSink();
  const ctx: ScenarioContext = {
    code,
    sink,
    runDir,
    logLevel: values["log-level"] ?? env.CHAOS_LOG_LEVEL ?? "warn",
    rng: new Rng(seed),
    log,
  };
  // Ctrl-C or SIGTERM: nothing this run started may outlive it
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: killing every process of the run`);
    killEverything();
    killServersNow();
    sink.server.process.kill("SIGKILL");
    removeLeftovers(Number(env.CHAOS_NETNS_ID ?? 1));
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const rows: Row[] = [];
  const started = Date.now();
  try {
    for (const s of selected as Scenario[]) {
      log(`${s.name}: ${s.title}`);
      const row = await s.run(ctx, s.params(scale));
      rows.push(row);
      log(formatTable([row]).split("\n")[1] ?? "");
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await sink.stop();
  }
  const failed = rows.some((r) => r.error);
  process.stdout.write(`\n${formatTable(rows, values.markdown === true)}\n\n`);
  process.stdout.write(
    `scale ${scale}, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(0)} s in all; core ${code.core.VERSION} from ${code.root}\n`,
  );
  if (values.json) writeFileSync(values.json, JSON.stringify({ scale, seed, root: code.root, rows }, null, 2));
  if (keepLogs || failed) log(`logs kept in ${runDir}`);
  else rmSync(runDir, { recursive: true, force: true });
  return failed ? 1 : 0;
}
