/** The batchjob release; Lua scripts are registered as `name:VERSION`. */
export const VERSION = "0.1.0";
