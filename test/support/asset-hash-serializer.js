// Asset hashes change with every rebuild of a handler bundle; snapshots must not.
const ASSET_HASH = /[0-9a-f]{64}(\.zip|\.json)?/g;
module.exports = {
  test: (value) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value) => JSON.stringify(value.replace(ASSET_HASH, (_m, ext) => `[ASSET HASH]${ext ?? ''}`)),
};
