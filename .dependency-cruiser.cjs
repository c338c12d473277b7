// @ts-check
/**
 * Architecture rules for Vigil's modular monolith (ingest -> detect -> incidents -> notify).
 * Run: npx depcruise src --config .dependency-cruiser.cjs
 * One named rule per constraint; test/architecture/boundaries.test.ts proves each one fires.
 */

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'modules-only-through-index',
      severity: 'error',
      comment:
        "A module's only public door is its index.ts: a file in src/X/ may import from another module src/Y/ " +
        '(Y other than X and shared) only via src/Y/index.ts.',
      from: { path: '^src/([^/]+)/' },
      to: {
        path: '^src/[^/]+/',
        pathNot: ['^src/$1/', '^src/shared/', '^src/[^/]+/index\\.ts$'],
      },
    },
    {
      name: 'node-av-only-in-ingest-and-simulate',
      severity: 'error',
      comment: 'Only src/ingest and src/simulate may touch FFmpeg (node-av); everything else sees shared media types.',
      from: { path: '^src/', pathNot: '^src/(ingest|simulate)/' },
      to: { path: ['(^|/)node_modules/node-av/', '^node-av(/|$)'] },
    },
    {
      name: 'detectors-never-import-notify',
      severity: 'error',
      comment: 'Detectors report interval edges; turning them into notifications is the job of incidents and notify.',
      from: { path: '^src/detect/' },
      to: { path: '^src/notify/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Circular imports make module start-up order fragile and blur which module owns what.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-imports-nothing',
      severity: 'error',
      comment: 'src/shared is the one module everyone may import, so it must not import any other src module.',
      from: { path: '^src/shared/' },
      to: { path: '^src/', pathNot: '^src/shared/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.d\\.ts$', '/assembly/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
