import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  // in-process tests run the TypeScript sources; spawned daemons run the build
  resolve: {
    alias: [
      { find: /^@batchjob\/core$/, replacement: src("core") },
      { find: /^@batchjob\/core\/job$/, replacement: src("core").replace(/index\.ts$/, "job.ts") },
      { find: /^@batchjob\/core\/internal$/, replacement: src("core").replace(/index\.ts$/, "internal.ts") },
      { find: /^@batchjob\/http$/, replacement: src("http") },
      { find: /^@batchjob\/worker$/, replacement: src("worker") },
      { find: /^@batchjob\/manager$/, replacement: src("manager") },
    ],
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/harness/global-setup.ts"],
    setupFiles: ["test/harness/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    coverage: { provider: "v8", include: ["packages/*/src/**"], reporter: ["text-summary"] },
  },
});
