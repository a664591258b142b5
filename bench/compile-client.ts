/**
 * mqttwire as it ships, and the worker processes that run it, for the benches that measure in
 * child processes (e2e, clients, soak).
 *
 * Every src .ts file is compiled into a directory as `tsc -p tsconfig.build.json` would (same
 * target; every file is an isolated module, so transpiling file by file gives tsc's output). Not
 * through tsx: its esbuild transform wraps every function it creates in a `__name()` call
 * (keepNames), which costs measurable CPU per message. The files stay separate modules, so a bench
 * can also load an internal one (transport/node-tcp.js) from beside index.js.
 *
 * The workers are compiled the same way and run by plain node: under `--import tsx` an idle Node
 * 20 process spends about 10 ms of CPU a second (the module hooks' thread), which would swamp an
 * idle measurement and add to every other one. With `--src` both run through tsx instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

/** The worker scripts and the bench files they import at run time. */
const WORKER_FILES = ['e2e-worker.ts', 'e2e-shared.ts', 'clients-worker.ts', 'soak-worker.ts', 'process-stats.ts', 'worker-imports.ts', 'inprocess-worker.ts'];

const compilerOptions: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, verbatimModuleSyntax: true };

function compileFiles(fromDir: string, files: string[], outDir: string): void {
  for (const file of files) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(fromDir, file), 'utf8'), { compilerOptions, fileName: file });
    const dest = path.join(outDir, file.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, outputText);
  }
}

/** Compiles `root`/src into `outDir`; returns the file URL of its index.js. */
export function compileClient(root: string, outDir: string): string {
  const srcDir = path.join(root, 'src');
  const files = (fs.readdirSync(srcDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  compileFiles(srcDir, files, outDir);
  fs.writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  return pathToFileURL(path.join(outDir, 'index.js')).href;
}

export interface Workers {
  /** What every worker process gets as its environment. */
  env: NodeJS.ProcessEnv;
  /** node's arguments to run bench/`worker` (a .ts name), after `nodeFlags`. */
  args(worker: string, nodeFlags?: string[]): string[];
  /** How mqttwire runs, for the report's header. */
  describe: string;
}

/**
 * Prepares the worker processes: compiles mqttwire and the workers into `workDir` (removed by the
 * caller), or, with `src`, runs both through tsx from the repository.
 */
export function prepareWorkers(root: string, workDir: string, src: boolean): Workers {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MQTTWIRE_BENCH_CLIENT;
  delete env.MQTTWIRE_BENCH_MQTTJS;
  if (src) {
    return { env, args: (worker, flags = []) => [...flags, '--import', 'tsx', path.join(root, 'bench', worker)], describe: 'src through tsx (--src)' };
  }
  const build = path.join(workDir, 'build');
  env.MQTTWIRE_BENCH_CLIENT = compileClient(root, build);
  compileFiles(path.join(root, 'bench'), WORKER_FILES, path.join(build, 'bench'));
  // The compiled workers live outside the repository, where `import('mqtt')` finds no node_modules.
  env.MQTTWIRE_BENCH_MQTTJS = import.meta.resolve('mqtt');
  return {
    env,
    args: (worker, flags = []) => [...flags, path.join(build, 'bench', worker.replace(/\.ts$/, '.js'))],
    describe: 'src compiled by TypeScript (as shipped), workers compiled likewise and run by node',
  };
}
