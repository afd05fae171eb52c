/**
 * `strake kv`: an etcdctl-like client of any etcd v3 endpoint (a Strake
 * master's or a real etcd's), built on the `etcd3` package. Sub-commands keep
 * etcdctl's semantics and output formats; errors print as "Error: ..." with
 * exit code 1 when a request failed and 2 when the command line is wrong.
 */
import { Option, type Command } from 'commander';
import type { ExitCodeSink } from '../main.js';
import { parseIntegerOption } from '../options.js';
import { registerClusterCommands } from './cluster-commands.js';
import { exitWithUsageCode } from './errors.js';
import { registerKvRequestCommands } from './kv-commands.js';
import { registerLeaseCommands } from './lease-commands.js';
import { registerMoveLeaderCommand } from './member-commands.js';
import { registerMaintenanceCommands } from './maintenance-commands.js';
import { OUTPUT_FORMATS } from './output.js';
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_ENDPOINT,
  ENDPOINTS_ENV,
  TIMEOUT_MS_MAX,
} from './session.js';
import { registerSnapshotCommand } from './snapshot-command.js';
import { registerTxnCommand } from './txn-command.js';
import { registerWatchCommand } from './watch-command.js';

export function registerKvCommand(program: Command, setExitCode: ExitCodeSink): void {
  const kv = program
    .command('kv')
    .description('etcdctl-like client of the replicated store (etcd v3 API): put, get, del, txn, watch, lease, member, endpoint, ...')
    .addOption(
      new Option('--endpoints <list>', 'comma-separated host:port or http://host:port of the etcd v3 endpoints')
        .env(ENDPOINTS_ENV)
        .default(DEFAULT_ENDPOINT),
    )
    .addOption(new Option('-w, --write-out <format>', 'output format').choices(OUTPUT_FORMATS).default('simple'))
    .option(
      '--command-timeout <ms>',
      'timeout for a short-running command (excluding the dial timeout)',
      (v) => parseIntegerOption('--command-timeout', v, 1, TIMEOUT_MS_MAX),
      DEFAULT_COMMAND_TIMEOUT_MS,
    )
    .option(
      '--dial-timeout <ms>',
      'timeout for connecting to the endpoints',
      (v) => parseIntegerOption('--dial-timeout', v, 1, TIMEOUT_MS_MAX),
      DEFAULT_DIAL_TIMEOUT_MS,
    )
    // Set before the sub-commands are added: they inherit both.
    .exitOverride(exitWithUsageCode)
    .showHelpAfterError('(run with --help for usage)');
  registerKvRequestCommands(kv, setExitCode);
  registerTxnCommand(kv, setExitCode);
  registerWatchCommand(kv, setExitCode);
  registerLeaseCommands(kv, setExitCode);
  registerClusterCommands(kv, setExitCode);
  registerMoveLeaderCommand(kv, setExitCode);
  registerMaintenanceCommands(kv, setExitCode);
  registerSnapshotCommand(kv, setExitCode);
}
