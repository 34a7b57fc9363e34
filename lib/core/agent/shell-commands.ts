/**
 * Splits a shell command line into the simple commands it would run, each as the argv of the program
 * that does the work: wrappers (`sudo`, `env`, `time`, `nohup`, `xargs`, `npx`, ...) and environment
 * prefixes are taken off, and `sh -c`/`bash -c`/`eval` strings and command substitutions are parsed
 * again, recursively.
 *
 * Tokens come from `shell-quote`, a real shell tokenizer (quotes, escapes, operators, redirections).
 * `mvdan-sh`, a full POSIX/Bash parser, was measured too: it takes 0.5 to 1.4 s just to load on this
 * machine, against 7 ms, and a hook runs before every shell command an agent runs.
 *
 * Where shell-quote reads less than a shell does, this module errs towards finding more commands, never
 * fewer (a missed command lets a destructive call through; an extra one only asks for approval):
 * - newlines are command separators (shell-quote reads them as blanks); a backslash before a newline
 *   joins the lines;
 * - a heredoc's body is read as commands, which is what `bash <<EOF` does with it;
 * - `$(...)` and backquotes inside any word are parsed as commands, also inside single quotes, which
 *   shell-quote does not tell apart from double quotes for backquotes;
 * - `(`, `)` and process substitutions separate commands; keywords (`if`, `then`, `do`, `!`, `{`, ...)
 *   before a command are dropped.
 * What no static reading can see stays out: a command inside a variable (`$CMD`), a script file, or a
 * string piped into a shell (`echo ... | bash`). The IAM deny is the hard stop for those.
 */
import { parse, ParseEntry } from 'shell-quote';

/** Thrown for a command line that is nested too deeply to read; callers fail closed on it. */
export class ShellParseError extends Error {}

/** How deep `sh -c` strings and substitutions may nest before the line is refused. */
const MAX_DEPTH = 8;
/** Marks where shell-quote met `$(`: it asks the environment for the empty name there. */
const SUBSTITUTION = '\u0001';

/** Operators after which the next word is a file name or heredoc delimiter, not part of the command. */
const REDIRECTIONS = new Set(['<', '>', '>>', '>&', '>|', '&>', '&>>', '<&', '<>', '<<<', '<<', '<<-']);
/** Shell keywords that may stand before a command; the command follows them. */
const KEYWORDS = new Set(['if', 'then', 'elif', 'else', 'fi', 'do', 'done', 'while', 'until', '!', '{', '}', 'esac']);
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'mksh']);
/** Package runners that run a package's binary: `npx cdk`, `pnpm dlx aws-cdk`, `yarn exec cdk`. */
const RUNNERS = new Set(['npx', 'pnpx', 'bunx']);
const RUNNER_SUBCOMMANDS = new Set(['exec', 'x', 'dlx', 'run', 'run-script']);
/** npm packages whose binary has another name. */
const PACKAGE_BINARIES: Readonly<Record<string, string>> = { 'aws-cdk': 'cdk', '@aws-cdk/cli': 'cdk' };

/**
 * Options of each wrapper that take a value as the next word (the `--long=value` form needs no entry).
 * A wrapper's first word that is not an option is the command it runs.
 */
const WRAPPERS: Readonly<Record<string, ReadonlySet<string>>> = {
  sudo: new Set(['-u', '-g', '-h', '-p', '-C', '-D', '-r', '-t', '-T', '-U', '--user', '--group', '--host']),
  doas: new Set(['-u', '-C']),
  env: new Set(['-u', '-C', '--unset', '--chdir']),
  time: new Set(['-f', '-o', '--format', '--output']),
  nohup: new Set(),
  nice: new Set(['-n', '--adjustment']),
  ionice: new Set(['-c', '-n', '--class', '--classdata']),
  stdbuf: new Set(['-i', '-o', '-e']),
  exec: new Set(['-a']),
  command: new Set(),
  builtin: new Set(),
  xargs: new Set(['-a', '-d', '-E', '-I', '-L', '-n', '-P', '-s', '--arg-file', '--delimiter', '--max-args']),
  timeout: new Set(['-s', '-k', '--signal', '--kill-after']),
};

/** The simple commands of `line`, each the argv of the program that runs, wrappers taken off. */
export function shellCommands(line: string, depth = 0): string[][] {
  if (depth > MAX_DEPTH) throw new ShellParseError(`commands nested more than ${MAX_DEPTH} deep`);
  const commands: string[][] = [];
  // Backquoted text is a command wherever it stands; shell-quote would split it into words.
  const pieces = line.replace(/\\\r?\n/g, ' ').split('`');
  for (let i = 1; i < pieces.length; i += 2) commands.push(...shellCommands(pieces[i], depth + 1));
  const text = pieces
    .filter((_, i) => i % 2 === 0)
    .join('_')
    .replace(/\r?\n/g, ' ; ');
  const tokens = parse(text, (name) => (name === '' ? SUBSTITUTION : `$${name}`));
  let words: string[] = [];
  const flush = (): void => {
    if (words.length > 0) commands.push(...unwrap(words, depth));
    words = [];
  };
  for (let i = 0; i < tokens.length; i++) {
    const token: ParseEntry = tokens[i];
    if (typeof token === 'string') {
      commands.push(...substitutions(token, depth));
      words.push(token.split(SUBSTITUTION).join(''));
    } else if ('comment' in token) {
      continue;
    } else if (token.op === 'glob') {
      words.push(token.pattern);
    } else if (REDIRECTIONS.has(token.op)) {
      const target = tokens[i + 1];
      if (typeof target === 'string') commands.push(...substitutions(target, depth));
      i++;
    } else {
      // ; & && || | |& ( ) <( >( ;; and the like: each ends a simple command.
      flush();
    }
  }
  flush();
  return commands;
}

/** The commands inside each `$(...)` of one word. */
function substitutions(word: string, depth: number): string[][] {
  const found: string[][] = [];
  let at = word.indexOf(`${SUBSTITUTION}(`);
  while (at >= 0) {
    const body = balanced(word, at + 2);
    found.push(...shellCommands(body, depth + 1));
    at = word.indexOf(`${SUBSTITUTION}(`, at + 2 + body.length);
  }
  return found;
}

/** The text from `start` to the `)` that closes the `(` before it, or to the end of the word. */
function balanced(word: string, start: number): string {
  let open = 1;
  for (let i = start; i < word.length; i++) {
    if (word[i] === '(') open++;
    if (word[i] === ')' && --open === 0) return word.slice(start, i);
  }
  return word.slice(start);
}

/** The program name of a command word: `/usr/local/bin/aws` is `aws`. */
function programName(word: string): string {
  return word.slice(word.lastIndexOf('/') + 1);
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Takes keywords, assignments and wrappers off one simple command; parses shell strings again. */
function unwrap(argv: readonly string[], depth: number): string[][] {
  let words = [...argv];
  for (;;) {
    while (words.length > 0 && (KEYWORDS.has(words[0]) || ASSIGNMENT.test(words[0]))) words = words.slice(1);
    if (words.length === 0) return [];
    const program = programName(words[0]);
    if (program === 'for' || program === 'case' || program === 'select') return [];
    if (program === 'eval') return shellCommands(words.slice(1).join(' '), depth + 1);
    if (SHELLS.has(program)) return shellScript(words, depth);
    if (program === 'command' && words.slice(1).some((w) => w === '-v' || w === '-V')) return []; // a look-up
    if (program === 'find') return findExecs(words, depth);
    if (program === 'env') {
      const split = words.findIndex((w, i) => i > 0 && (w === '-S' || w === '--split-string'));
      if (split > 0) return shellCommands(words.slice(split + 1).join(' '), depth + 1);
    }
    if (program === 'timeout') {
      const rest = afterOptions(words, WRAPPERS.timeout);
      words = rest.slice(1); // the duration comes before the command
      continue;
    }
    if (program in WRAPPERS) {
      words = afterOptions(words, WRAPPERS[program]);
      continue;
    }
    const runner = runnerTarget(words);
    if (runner) {
      words = runner;
      continue;
    }
    return [[program, ...words.slice(1)]];
  }
}

/** The words after a wrapper's options and their values (and after `--`). */
function afterOptions(words: readonly string[], valued: ReadonlySet<string>): string[] {
  let i = 1;
  while (i < words.length) {
    const word = words[i];
    if (word === '--') return words.slice(i + 1);
    if (ASSIGNMENT.test(word)) {
      i++; // env NAME=value, sudo NAME=value
    } else if (word.startsWith('-') && word.length > 1) {
      // A cluster of short options (`sudo -Eu deploy`) takes a value when its last letter does.
      const cluster = /^-[A-Za-z]{2,}$/.test(word) && valued.has(`-${word.slice(-1)}`);
      i += valued.has(word) || cluster ? 2 : 1;
    } else {
      break;
    }
  }
  return words.slice(i);
}

/** `find ... -exec cmd args {} ;` (and `-execdir`, `-ok`, `-okdir`): the commands find runs. */
function findExecs(words: readonly string[], depth: number): string[][] {
  const found: string[][] = [];
  for (let i = 1; i < words.length; i++) {
    if (!['-exec', '-execdir', '-ok', '-okdir'].includes(words[i])) continue;
    const end = words.findIndex((w, j) => j > i && (w === ';' || w === '+'));
    const argv = words.slice(i + 1, end < 0 ? undefined : end);
    if (argv.length > 0) found.push(...unwrap(argv, depth + 1));
    i = end < 0 ? words.length : end;
  }
  return found;
}

/** `bash -c 'script'`: the script's commands. A shell that reads a file or stdin shows nothing. */
function shellScript(words: readonly string[], depth: number): string[][] {
  for (let i = 1; i < words.length; i++) {
    const word = words[i];
    if (!/^[-+]/.test(word)) return [];
    if (word === '-o' || word === '+o' || word === '-O' || word === '+O') i++;
    else if (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(word)) {
      const script = words.slice(i + 1).find((w) => !/^-/.test(w));
      return script === undefined ? [] : shellCommands(script, depth + 1);
    }
  }
  return [];
}

/**
 * The command a package runner starts: `npx [-y] cdk ...`, `npm exec -- cdk`, `yarn cdk`,
 * `pnpm dlx aws-cdk@2 ...`. `npm run cdk -- destroy` is read as `cdk destroy`, because the CDK app
 * template defines the script `"cdk": "cdk"`. Undefined when `words` is not a runner.
 */
function runnerTarget(words: readonly string[]): string[] | undefined {
  const program = programName(words[0]);
  let rest: string[];
  if (RUNNERS.has(program)) {
    rest = words.slice(1);
  } else if (['npm', 'yarn', 'pnpm', 'bun'].includes(program) && words.length > 1) {
    rest = RUNNER_SUBCOMMANDS.has(words[1]) ? words.slice(2) : program === 'npm' ? [] : words.slice(1);
  } else {
    return undefined;
  }
  while (rest.length > 0 && rest[0].startsWith('-')) {
    const option = rest[0];
    // npx -c '<command>' runs a command string in a shell.
    if ((option === '-c' || option === '--call') && rest.length > 1) return ['sh', '-c', rest[1]];
    if (option === '--') {
      rest = rest.slice(1);
      break;
    }
    // npx -p <package> and --package <package> name what to install, not what to run.
    rest = rest.slice(option === '-p' || option === '--package' ? 2 : 1);
  }
  if (rest.length === 0) return [];
  const name = rest[0].replace(/(.)@[^/]*$/, '$1');
  const args = rest.slice(1);
  return [PACKAGE_BINARIES[name] ?? name, ...(args[0] === '--' ? args.slice(1) : args)];
}
