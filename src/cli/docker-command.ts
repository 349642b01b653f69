// A commander Command that parses flags the way docker's (cobra/pflag) do
// where commander differs: boolean flags accept "=true"/"=false"
// (`--ipv4=false`), and exit statuses follow docker: a bad flag is 125, a
// wrong number of arguments is 1.
import { Command, CommanderError, Help } from 'commander';
import type { Option } from 'commander';

/** docker exits 125 when its own flag parsing fails (cli.FlagErrorFunc). */
export const EXIT_USAGE = 125;

const FLAG_ERRORS = new Set([
  'commander.unknownOption', 'commander.optionMissingArgument', 'commander.invalidArgument',
  'commander.missingMandatoryOptionValue', 'commander.conflictingOption',
]);

/** Go's strconv.ParseBool. */
export function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Throws a CommanderError that main turns into this exit status, printing nothing more. */
export function exitWith(code: number, message = ''): never {
  throw new CommanderError(code, 'cnm.exit', message);
}

/** Help without the "(default: [])" of repeatable flags: an empty list is no default worth showing. */
class DockerHelp extends Help {
  override optionDescription(option: Option): string {
    return super.optionDescription(option).replace(/ \(default: (\[\]|\{\})\)$/, '');
  }
}

export class DockerCommand extends Command {
  constructor(name?: string) {
    super(name);
    this.exitOverride((err) => {
      if (err.exitCode === 0 || err.code === 'cnm.exit') throw err;
      throw new CommanderError(FLAG_ERRORS.has(err.code) ? EXIT_USAGE : 1, err.code, err.message);
    });
  }

  override createHelp(): Help {
    return Object.assign(new DockerHelp(), this.configureHelp());
  }

  override createCommand(name?: string): DockerCommand {
    return new DockerCommand(name);
  }

  override parseOptions(args: string[]): { operands: string[]; unknown: string[] } {
    return super.parseOptions(this.normalizeBools(args));
  }

  private findOpt(flag: string): Option | undefined {
    return this.options.find((o) => o.long === flag || o.short === flag);
  }

  /** Rewrites "--flag=true" to "--flag" and "--flag=false" to "--no-flag" (or nothing). */
  private normalizeBools(args: string[]): string[] {
    const out: string[] = [];
    // commander has no getter for this; the private field is why package.json
    // pins commander to an exact version (a minor release may rename it).
    const passThrough = (this as unknown as { _passThroughOptions: boolean })._passThroughOptions;
    for (let i = 0; i < args.length; i++) {
      const a = args[i] ?? '';
      if (a === '--' || (passThrough && !a.startsWith('-'))) { out.push(...args.slice(i)); break; }
      const m = /^(--[^=]+)=(.*)$/s.exec(a);
      const opt = m ? this.findOpt(m[1] ?? '') : undefined;
      if (m && opt && !opt.required && !opt.optional && !opt.negate) {
        const v = parseGoBool(m[2] ?? '');
        if (v === undefined) {
          this.error(`invalid argument "${m[2]}" for "${m[1]}" flag: strconv.ParseBool: parsing "${m[2]}": invalid syntax`,
            { exitCode: EXIT_USAGE, code: 'commander.invalidArgument' });
        }
        if (v) out.push(m[1] ?? '');
        else if (this.findOpt(`--no-${(m[1] ?? '').slice(2)}`)) out.push(`--no-${(m[1] ?? '').slice(2)}`);
        continue;
      }
      out.push(a);
      // Skip the value of an option that takes one, so it is not mistaken for an operand.
      if (/^--[^=]+$/.test(a)) {
        if (this.findOpt(a)?.required) out.push(args[++i] ?? '');
      } else if (/^-[^-]/.test(a)) {
        for (let k = 1; k < a.length; k++) {
          const o = this.findOpt(`-${a[k]}`);
          if (o?.required) {
            if (k === a.length - 1) out.push(args[++i] ?? '');
            break;
          }
        }
      }
      if (i >= args.length) out.pop();
    }
    return out;
  }
}
