import type { CommandModule } from 'yargs';
import { analyzeCommand } from './analyze.js';
import { emitCommand } from './emit.js';
import { profileCommandModule } from './profile.js';
import { udaemonCommand } from './udaemon.js';

export const commands: CommandModule<object, any>[] = [analyzeCommand, emitCommand, profileCommandModule, udaemonCommand];
