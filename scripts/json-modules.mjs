// Lets Node load packages that import JSON without an import attribute (GitHub's
// @actions/workflow-parser imports its schema that way; it is built for bundlers): a JSON module
// loaded without `with { type: 'json' }` gets it. Node 24 (module.registerHooks). Usage:
//   node --import ./scripts/json-modules.mjs script.mjs
import { registerHooks } from 'node:module';

registerHooks({
  load(url, context, nextLoad) {
    if (url.endsWith('.json') && context.importAttributes?.type === undefined) {
      return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
    }
    return nextLoad(url, context);
  },
});
