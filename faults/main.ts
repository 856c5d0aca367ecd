/**
 * `npm run faults`: the fault suite (faults/suite.ts) on the built engine; `-- --quick` for the short form CI runs,
 * `-- --phase worker --phase database` for some phases only, `-- --keep-files` to keep the logs of a pass.
 * Prints the counts and exits non-zero on any violation.
 */
import { parseArgs } from 'node:util';
import { formatReport, violationTotal } from './report';
import { runFaultSuite } from './suite';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, 'keep-files': { type: 'boolean', default: false }, phase: { type: 'string', multiple: true } },
    strict: true,
  });
  const result = await runFaultSuite({ quick: values.quick, keepFiles: values['keep-files'], ...(values.phase ? { only: values.phase } : {}), log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(`\n${formatReport(result)}\n`);
  if (violationTotal(result) > 0) {
    process.stdout.write(`logs and data kept in ${result.dir}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`fault suite failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
