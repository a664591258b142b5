/**
 * mqttwire as it ships, for the benches that run it in child processes (e2e, clients, soak).
 *
 * Every src .ts file is compiled into a directory as `tsc -p tsconfig.build.json` would (same
 * target; every file is an isolated module, so transpiling file by file gives tsc's output). Not
 * through tsx: its esbuild transform wraps every function it creates in a `__name()` call
 * (keepNames), which costs measurable CPU per message. The files stay separate modules, so a bench
 * can also load an internal one (transport/node-tcp.js) from beside index.js.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

/** Compiles `root`/src into `outDir`; returns the file URL of its index.js. */
export function compileClient(root: string, outDir: string): string {
  const srcDir = path.join(root, 'src');
  const files = (fs.readdirSync(srcDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  const compilerOptions: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, verbatimModuleSyntax: true };
  for (const file of files) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(srcDir, file), 'utf8'), { compilerOptions, fileName: file });
    const dest = path.join(outDir, file.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, outputText);
  }
  fs.writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  return pathToFileURL(path.join(outDir, 'index.js')).href;
}
