/** @batchjob/cli: the `batchjob` command; its config loader for embedding. */
export { type LoadedConfig, loadConfigFile } from "./config-file.js";
