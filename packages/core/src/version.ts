/** The batchjob release; Lua scripts are registered as `name:VERSION`. */
export const VERSION = "0.2.0";
