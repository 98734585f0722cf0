import { runAction } from '@titan/action-kit/run-action';
import { run } from './main.js';

await runAction(() => run());
