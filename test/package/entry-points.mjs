// Shared by both consumers: loads the subpath entry points after the root one and reports what each exports,
// and whether any file of the `mongodb` driver had been loaded at each step.
const MONGODB_FILE = /[\\/]node_modules[\\/]mongodb[\\/]/;

/** `{ exportName: typeof value }`, sorted, for a module namespace or a `require` result. */
export const exportTypes = (module) =>
  Object.fromEntries(
    Object.keys(module)
      .sort()
      .map((name) => [name, typeof module[name]]),
  );

/** How many tests `runStoreConformance` registers, counted with collecting `describe` and `it`. */
export function countConformanceTests(runStoreConformance) {
  let count = 0;
  runStoreConformance(
    { name: 'Count', createStore: () => ({}), registry: false },
    { describe: (_name, body) => body(), it: () => void count++ },
  );
  return count;
}

/**
 * `root` is the already loaded root entry; `load` is `import()` or `require`; `cache` is `require.cache`,
 * which also holds CommonJS packages (such as `mongodb`) imported from ES modules.
 */
export async function checkEntryPoints({ root, load, cache }) {
  const mongodbLoaded = () => Object.keys(cache).some((file) => MONGODB_FILE.test(file));
  const result = { root: exportTypes(root), mongodbLoadedByRoot: mongodbLoaded() };
  const testing = await load('express-revocable-jwt/testing');
  result.testing = exportTypes(testing);
  result.conformanceTests = countConformanceTests(testing.runStoreConformance);
  result.mongodbLoadedByTesting = mongodbLoaded();
  try {
    result.mongodb = exportTypes(await load('express-revocable-jwt/mongodb'));
  } catch (error) {
    result.mongodbError = { isError: error instanceof Error, message: error.message, causeCode: error.cause?.code };
  }
  result.mongodbLoadedByMongodbEntry = mongodbLoaded();
  return result;
}
