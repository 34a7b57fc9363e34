import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const NO_CDK = {
  patterns: [
    {
      group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
      message: 'lib/core, the handlers and the CLI are CDK-free: the handlers and the CLI are bundled without it.',
    },
  ],
};

// The direction of imports (DESIGN.md, Parts): lib/core is the shared bottom layer; each handler
// and the CLI stand on lib/core and lambda/shared only; nothing imports a handler's internals.
const CONSTRUCT = { path: './lib', except: ['./core'] };
const layers = [
  { target: './lib/core', from: ['./lib', './lambda', './bin', './examples'], except: ['./core'] },
  // The approval API schemas use zod, which the construct library does not ship: handlers and CLI only.
  { target: ['./lib', './lib/core'], from: './lib/core/approval-api.ts' },
  { target: './lambda/shared', from: ['./lambda/guard', './lambda/approvals', './bin'] },
  { target: './lambda/guard', from: ['./lambda/approvals', './bin'] },
  { target: './lambda/approvals', from: ['./lambda/guard', './bin'] },
  { target: './bin', from: ['./lambda/guard', './lambda/approvals'] },
].flatMap(({ target, from, except }) =>
  [from].flat().map((f) => ({ target, from: f, ...(except && f === './lib' ? { except } : {}) })),
);
for (const target of ['./lambda', './bin']) layers.push({ target, from: CONSTRUCT.path, except: CONSTRUCT.except });

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', 'coverage/', '**/*.js', '!eslint.config.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js', '.json'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'off',
      'import-x/no-restricted-paths': ['error', { zones: layers }],
    },
  },
  {
    // The library ships with aws-cdk-lib and constructs only; iam-simulate is AGPL and for tests alone.
    // The CLI's own modules in lib/core import packages that esbuild bundles into the CLI (zod,
    // shell-quote); tsconfig.build.json keeps them out of the library.
    files: ['lib/**/*.ts'],
    ignores: ['lib/core/approval-api.ts', 'lib/core/agent/shell-commands.ts', 'lib/core/replay/log-files.ts'],
    rules: {
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: false, peerDependencies: true }],
    },
  },
  {
    files: ['lib/core/**/*.ts', 'lambda/**/*.ts', 'bin/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', NO_CDK] },
  },
  {
    files: ['eslint.config.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  prettier,
);
