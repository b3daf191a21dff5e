import { describe, expect, it } from 'vitest';
import { recordingIo } from '../../../test/support/cli-io.js';
import { runCli } from './run-cli.js';

async function run(argv: string[]) {
  const io = recordingIo();
  const code = await runCli(argv, io);
  return { code, stdout: io.out.join(''), stderr: io.err.join('') };
}

describe('option-parser errors', () => {
  it.each([
    [['serve', '--bogus'], 'scalr-credd serve: unknown option --bogus; run \'scalr-credd serve --help\'\n'],
    [['audit', 'verify', '--bogus=hunter2'], 'scalr-credd audit: unknown option --bogus; run \'scalr-credd audit --help\'\n'],
    [['init', '--data-dir'], 'scalr-credd init: --data-dir needs a value; run \'scalr-credd init --help\'\n'],
    [['audit', 'verify', '--json=yes'], 'scalr-credd audit: --json takes no value; run \'scalr-credd audit --help\'\n'],
    [['serve', 'extra'], 'scalr-credd serve: unexpected argument: this command takes no positional argument; run \'scalr-credd serve --help\'\n'],
    [['token', 'list', '--json=3'], 'scalr-credd token: --json takes no value; run \'scalr-credd token --help\'\n'],
    [['token', 'create', '--name', '--role', 'runner'], "scalr-credd token: --name needs a value (for one that starts with a dash, write --name=-VALUE); run 'scalr-credd token --help'\n"],
  ])('%j is one line in the CLI\'s words, exit 2', async (argv, stderr) => {
    expect(await run(argv)).toEqual({ code: 2, stdout: '', stderr });
  });

  it('never echoes the value of an option it refuses', async () => {
    const { stderr } = await run(['audit', 'verify', '--json=hunter2']);
    expect(stderr).not.toContain('hunter2');
  });
});
