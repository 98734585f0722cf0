import * as core from '@actions/core';
import type { Logger } from '@titan/log/logger';

/** The runner's log as a Logger: libraries write here without knowing about @actions/core. */
export const coreLogger: Logger = {
  debug: (message) => core.debug(message),
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  error: (message) => core.error(message),
  group: (name, run) => core.group(name, run),
};
