// Lets Node load packages that import JSON without an import attribute (GitHub's
// @actions/workflow-parser imports its schema that way; it is built for bundlers): a JSON module
// resolved for an import without `with { type: 'json' }` gets it. Node 24 (module.registerHooks).
// A resolve hook, not a load hook: with any load hook registered, vitest's workers fail to load
// CommonJS packages that require() JSON ("module is not linked": openapi-backend). Usage:
//   node --import ./scripts/json-modules.mjs script.mjs
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (resolved.url.endsWith('.json') && context.importAttributes?.type === undefined) {
      return { ...resolved, importAttributes: { ...context.importAttributes, type: 'json' } };
    }
    return resolved;
  },
});
