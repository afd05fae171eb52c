/**
 * The `strake` command: one entry point; each sub-command delegates to the
 * module that owns it.
 */
import { Command, CommanderError } from 'commander';
import { registerSimCommand } from '../chaos/sim/sim-command.js';
import { registerChaosCommand } from './chaos.js';
import { registerImageCommand } from './image.js';
import { registerKvCommand } from './kv/index.js';
import { registerMasterCommand } from './master.js';
import { registerNodeCommand } from './node.js';
import { registerRuntimeCommand } from './runtime.js';
import { registerUpCommand } from './up.js';
import { VERSION } from './version.js';


/** Sub-commands report their outcome here instead of calling process.exit. */
export type ExitCodeSink = (code: number) => void;

export function buildProgram(setExitCode: ExitCodeSink): Command {
  const program = new Command();
  program
    .name('strake')
    .description('A Kubernetes-style cluster whose state lives in its own Raft-replicated key-value store')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError();
  registerUpCommand(program, setExitCode);
  registerMasterCommand(program, setExitCode);
  registerNodeCommand(program, setExitCode);
  registerImageCommand(program, setExitCode);
  registerRuntimeCommand(program, setExitCode);
  registerSimCommand(program, setExitCode);
  registerKvCommand(program, setExitCode);
  registerChaosCommand(program, setExitCode);
  return program;
}

/** Runs the command line and resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      return err.exitCode;
    }
    throw err;
  }
  return exitCode;
}
