import { coreLogger } from '@titan/action-kit/core-logger';
import { runAction } from '@titan/action-kit/run-action';
import { run } from './main.js';

await runAction(({ signal }) => run(coreLogger, signal), { name: 'Deploy', cancellable: true });
