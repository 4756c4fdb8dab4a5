/**
 * Secrets marked in the schema: `redactSecrets` walks a value along its
 * schema (wrappers, objects, records, arrays, unions, launchers by kind),
 * and a config issue shows no secret value. The launcher kinds here are a
 * code config's own, marked as the built-ins are (`.meta({ secret })`).
 */
import { describe, expect, it } from "vitest";
import { issuesOf } from "../../../test/harness/config-issues.js";
import {
  configSchema,
  containsSecret,
  formatConfigIssue,
  type LauncherDefinition,
  launcherSecretValues,
  parseConfig,
  parseLauncher,
  REDACTED,
  redactLauncherSpec,
  redactSecrets,
  scrubSecretValues,
  secretMarkOf,
  secretValuesOf,
  z,
} from "../src/index.js";

const TOKEN = "tok-1234567890-abcdef";
const webhook: LauncherDefinition = {
  kind: "webhook",
  schema: z.strictObject({
    url: z.url().meta({ secret: "url" }),
    token: z.string().min(12).meta({ secret: true }),
    headers: z.record(z.string(), z.string().meta({ secret: true })).default({}),
    retries: z.int().min(0).default(3),
  }),
  create: () => undefined,
};

describe("marks", () => {
  it("reads a field's mark through .meta() and knows which schemas hold one", () => {
    expect(secretMarkOf(z.string().meta({ secret: true }))).toBe(true);
    expect(secretMarkOf(z.string())).toBeUndefined();
    expect(secretMarkOf(z.string().meta({ description: "x" }))).toBeUndefined();
    expect(containsSecret(webhook.schema as z.ZodType)).toBe(true);
    expect(containsSecret(z.object({ a: z.array(z.string().meta({ secret: true }).optional()) }))).toBe(true);
    expect(containsSecret(z.object({ a: z.string(), b: z.int() }))).toBe(false);
  });
});

describe("redactSecrets", () => {
  const schema = z.object({
    name: z.string(),
    password: z.string().meta({ secret: true }).optional(),
    dsn: z.string().meta({ secret: "url" }).default("redis://x"),
    env: z.record(z.string(), z.string().meta({ secret: true })),
    list: z.array(z.object({ key: z.string().meta({ secret: true }), id: z.int() })),
    either: z.union([z.string(), z.object({ apiKey: z.string().meta({ secret: true }) })]),
    lazy: z.lazy(() => z.object({ pin: z.string().meta({ secret: true }) })),
  });

  it("replaces every marked value and nothing else, without changing its input", () => {
    const value = {
      name: "n",
      password: "p4ss",
      dsn: "redis://u:p4ss@h:1/0",
      env: { API_TOKEN: "p4ss", MODE: "p4ss" },
      list: [
        { key: "p4ss", id: 1 },
        { key: "p4ss", id: 2 },
      ],
      either: { apiKey: "p4ss" },
      lazy: { pin: "p4ss" },
    };
    const before = structuredClone(value);
    expect(redactSecrets(schema, value)).toEqual({
      name: "n",
      password: REDACTED,
      dsn: "redis://u:***@h:1/0",
      env: { API_TOKEN: REDACTED, MODE: REDACTED },
      list: [
        { key: REDACTED, id: 1 },
        { key: REDACTED, id: 2 },
      ],
      either: { apiKey: REDACTED },
      lazy: { pin: REDACTED },
    });
    expect(value).toEqual(before);
    expect(redactSecrets(schema, { name: "n", either: "plain", env: {}, list: [] })).toEqual({
      name: "n",
      either: "plain",
      env: {},
      list: [],
    });
  });

  it("redacts a whole value whose shape is not the schema's where a secret could be in it", () => {
    // a raw config: env given as a string, list as an object
    const out = redactSecrets(schema, { name: "n", env: "API_TOKEN=p4ss", list: { key: "p4ss" } });
    expect(out).toEqual({ name: "n", env: REDACTED, list: REDACTED });
    // where no secret could be, the value stays
    expect(redactSecrets(z.object({ a: z.array(z.int()) }), { a: "x" })).toEqual({ a: "x" });
  });
});

describe("launchers, by their kind's marks", () => {
  const raw = {
    redis: { url: "redis://bjuser:r3dis-pw@127.0.0.1:6379" },
    launchers: [webhook],
    jobTypes: [
      {
        name: "hook",
        launcher: {
          kind: "webhook",
          url: "https://hooks.example.com/x?token=q-secret",
          token: TOKEN,
          headers: { Authorization: `Bearer ${TOKEN}` },
        },
      },
      { name: "other", launcher: { kind: "unchecked", password: TOKEN, nested: { token: TOKEN } } },
    ],
  };

  it("a parsed config: the kind's marked fields, the Redis password; an unknown kind shows only its kind", () => {
    const config = parseConfig(raw, "c");
    const shown = redactSecrets(configSchema, { ...config, launchers: [] });
    const text = JSON.stringify(shown);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain("r3dis-pw");
    expect(text).not.toContain("q-secret");
    expect(shown).toMatchObject({
      redis: { url: "redis://bjuser:***@127.0.0.1:6379" },
      jobTypes: [
        {
          name: "hook",
          chunkSize: expect.any(Number),
          launcher: {
            kind: "webhook",
            url: "https://hooks.example.com/x?token=***",
            token: REDACTED,
            headers: { Authorization: REDACTED },
            retries: 3,
          },
        },
        { name: "other", launcher: { kind: "unchecked", password: REDACTED, nested: REDACTED } },
      ],
    });
    // the config itself keeps its secrets: the daemons need them
    expect(config.jobTypes[0]?.launcher).toMatchObject({ token: TOKEN });
  });

  it("redactLauncherSpec: a validated launcher by its definition, a raw one by the given kinds", () => {
    const resolved = parseLauncher(raw.jobTypes[0]?.launcher as never, [webhook]);
    expect(resolved.definition).toBe(webhook);
    const spec = parseConfig(raw, "c").jobTypes[0]?.launcher;
    expect(redactLauncherSpec(spec as never)).toMatchObject({ kind: "webhook", token: REDACTED });
    const rawSpec = { kind: "webhook", token: TOKEN, retries: 1 };
    expect(redactLauncherSpec(rawSpec)).toEqual({ kind: "webhook", token: REDACTED, retries: REDACTED });
    expect(redactLauncherSpec(rawSpec, { kinds: () => webhook })).toEqual({
      kind: "webhook",
      token: REDACTED,
      retries: 1,
    });
  });
});

describe("config issues show no secret", () => {
  it("a marked field's bad value is redacted, a URL loses its password, other values stay", () => {
    const bad = {
      redis: { url: "redis://bjuser:r3dis-pw@127.0.0.1:6379" },
      launchers: [webhook],
      jobTypes: [
        {
          name: "hook",
          chunkSize: 0,
          launcher: {
            kind: "webhook",
            url: "nota url with pw:hunter2@",
            token: "short-pw",
            headers: { Authorization: 42 },
            retries: -1,
          },
        },
      ],
    };
    const issues = issuesOf(() => parseConfig(bad, "c"));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath["jobTypes[0].launcher.token"]?.value).toBe(REDACTED);
    expect(byPath["jobTypes[0].launcher.headers.Authorization"]?.value).toBe(REDACTED);
    expect(byPath["jobTypes[0].launcher.retries"]?.value).toBe(-1);
    expect(byPath["jobTypes[0].chunkSize"]?.value).toBe(0);
    expect(byPath["jobTypes[0].launcher.url"]?.value).not.toContain("hunter2");
    const printed = issues.map(formatConfigIssue).join("\n");
    expect(printed).not.toMatch(/short-pw|hunter2|r3dis-pw/);
    expect(printed).toMatch(/jobTypes\[0\]\.launcher\.token: .*\(got "\[redacted\]"\)/);
  });

  it("an issue of a whole launcher shows it with its secret fields redacted", () => {
    const refining: LauncherDefinition = {
      kind: "refining",
      schema: z
        .strictObject({ key: z.string().meta({ secret: true }), n: z.int() })
        .refine((l) => l.n > 1, { message: "n must be above 1" }),
      create: () => undefined,
    };
    const issues = issuesOf(() =>
      parseConfig({
        launchers: [refining],
        jobTypes: [{ name: "a", launcher: { kind: "refining", key: TOKEN, n: 1 } }],
      }),
    );
    expect(issues).toEqual([
      { path: "jobTypes[0].launcher", message: "n must be above 1", value: { kind: "refining", key: REDACTED, n: 1 } },
    ]);
  });
});

describe("secret values, for text nobody parsed", () => {
  it("collects the marked values of a config (long enough to be credentials) and scrubs them from text", () => {
    const config = parseConfig(
      {
        redis: { url: "redis://bjuser:r3dis-pw-long@127.0.0.1:6379" },
        launchers: [webhook],
        jobTypes: [
          {
            name: "hook",
            launcher: {
              kind: "webhook",
              url: "https://h/x?token=q-pw-long-1",
              token: TOKEN,
              headers: { A: "short", B: 'quo"ted-secret' },
            },
          },
        ],
      },
      "c",
    );
    const values = secretValuesOf(configSchema, config);
    expect(values.sort()).toEqual(["q-pw-long-1", 'quo"ted-secret', "r3dis-pw-long", TOKEN].sort());
    // the launcher's own: its url's credential query value too
    expect(launcherSecretValues(config.jobTypes[0]?.launcher as never).sort()).toEqual(
      ["q-pw-long-1", 'quo"ted-secret', TOKEN].sort(),
    );
    const text = `failed with ${TOKEN}; ${JSON.stringify({ h: 'quo"ted-secret' })}; short stays`;
    expect(scrubSecretValues(text, values)).toBe(`failed with ${REDACTED}; {"h":"${REDACTED}"}; short stays`);
  });
});
