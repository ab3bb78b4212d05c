import type { CommandModule } from 'yargs';
import { profileCommand } from '../../callgrind/run.js';
import { InputError } from '../../errors.js';

interface Args {
  out?: string;
  '--'?: string[];
}

export const profileCommandModule: CommandModule<object, Args> = {
  command: 'profile',
  describe: 'Run a program under valgrind --tool=callgrind with the options the analysis needs: split-driver profile [--out FILE] -- CMD ARGS...',
  builder: (y) => y.option('out', { type: 'string', describe: 'where to write the profile' }) as never,
  handler: async (args) => {
    const cmd = (args['--'] ?? []).map(String);
    if (cmd.length === 0) throw new InputError('name the program to profile after --, e.g. split-driver profile -- ./harness');
    const out = await profileCommand(cmd, { out: args.out });
    process.stderr.write(`profile written to ${out}\n`);
    process.stdout.write(`${out}\n`);
  },
};
