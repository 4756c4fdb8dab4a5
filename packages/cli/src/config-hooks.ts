/**
 * Module loader hooks for config files (registered once by `config-file.ts`
 * through `module.register`; they run in Node's loader thread):
 *   1. a TypeScript config is imported as `<file>.ts` + `CONFIG_SUFFIX`, a URL
 *      ending in `.mts`, so tsx compiles it as an ES module whatever the
 *      folder's package.json says; `load` reads the real file. Nothing is
 *      written next to the config, so it loads from a read-only folder; a
 *      query (`?reload=N`, a reload on SIGHUP) is not part of the file name.
 *   2. `@batchjob/*` that does not resolve from the importing file (a config
 *      in /etc/batchjob, a CLI installed globally) resolves from the CLI's own
 *      installation instead; the user's own copy, when it resolves, wins.
 */
import { readFile } from "node:fs/promises";
import type { InitializeHook, LoadHook, ResolveHook } from "node:module";
import { fileURLToPath } from "node:url";

/** Appended to a `.ts` config's file URL: the import of the config as an ES module. */
export const CONFIG_SUFFIX = ".batchjob-config.mts";

export interface ConfigHooksData {
  /** A module of the CLI: `@batchjob/*` resolves from here when the importer cannot resolve it. */
  fallbackParentURL: string;
}

let fallbackParentURL: string | undefined;

export const initialize: InitializeHook<ConfigHooksData> = (data) => {
  fallbackParentURL = data.fallbackParentURL;
};

/** The URL without its query (`?reload=N`: a config imported again on reload). */
function withoutQuery(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

function isConfigUrl(url: string): boolean {
  return url.startsWith("file:") && withoutQuery(url).endsWith(CONFIG_SUFFIX);
}

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  if (isConfigUrl(specifier)) return { url: specifier, format: "module", shortCircuit: true };
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const notFound = (err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND";
    if (!notFound || !specifier.startsWith("@batchjob/") || fallbackParentURL === undefined) throw err;
    return nextResolve(specifier, { ...context, parentURL: fallbackParentURL });
  }
};

export const load: LoadHook = async (url, context, nextLoad) => {
  if (!isConfigUrl(url)) return nextLoad(url, context);
  const source = await readFile(fileURLToPath(withoutQuery(url)).slice(0, -CONFIG_SUFFIX.length));
  return { format: "module", source, shortCircuit: true };
};
