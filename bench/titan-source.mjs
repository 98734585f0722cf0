// Lets Node run the workspace's TypeScript sources directly (type stripping): with
// `--conditions=titan-source`, `@titan/<pkg>/<file>` resolves to packages/<pkg>/src/<file>.ts, and
// this hook maps the sources' NodeNext-style relative imports (`./errors.js`) to the `.ts` file
// beside them when no `.js` file exists. Usage:
//   node --conditions=titan-source --import ./bench/titan-source.mjs bench/<name>.ts
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      const fromTypeScript = context.parentURL?.endsWith('.ts') ?? false;
      if (error?.code === 'ERR_MODULE_NOT_FOUND' && fromTypeScript && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
      throw error;
    }
  },
});
