import type { CommandModule } from 'yargs';
import { analyzeCommand } from './analyze.js';
import { checkCommand } from './check.js';
import { emitCommand } from './emit.js';
import { profileCommandModule } from './profile.js';
import { udaemonCommand } from './udaemon.js';

export const commands: CommandModule<object, any>[] = [analyzeCommand, checkCommand, emitCommand, profileCommandModule, udaemonCommand];
