// Decides whether the lines typed so far at the repl form a complete MATLAB statement, so that
// blocks (for/if/function ... end), open brackets and `...` continuations span several lines.

const OPENERS = new Set(["if", "for", "parfor", "while", "switch", "try", "function", "spmd", "classdef", "methods", "properties", "events", "enumeration", "unwind_protect"]);
const CLOSERS = new Set(["end", "endif", "endfor", "endparfor", "endwhile", "endswitch", "end_try_catch", "endfunction", "endspmd", "endclassdef", "endmethods", "endproperties", "endevents", "endenumeration", "end_unwind_protect"]);

interface LineScan {
  /** The line's code with strings and comments blanked out. */
  code: string;
  continued: boolean;
}

function scanLine(line: string): LineScan {
  let code = "";
  let previous = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "%" || ch === "#") break;
    if (line.startsWith("...", i)) return { code, continued: true };
    const transpose = ch === "'" && /[\w)\]}.'"]/.test(previous);
    if ((ch === "'" && !transpose) || ch === '"') {
      const close = line.indexOf(ch, i + 1);
      if (close < 0) return { code, continued: false };
      i = close;
      code += " ";
      previous = ch;
      continue;
    }
    code += ch;
    if (ch !== " " && ch !== "\t") previous = ch;
  }
  return { code, continued: false };
}

/** True when `source` can be executed as it stands. */
export function isStatementComplete(source: string): boolean {
  let blocks = 0;
  let brackets = 0;
  let continued = false;
  for (const line of source.split("\n")) {
    const scan = scanLine(line);
    continued = scan.continued;
    for (const token of scan.code.matchAll(/[A-Za-z_]\w*|[[\](){}]/g)) {
      const word = token[0];
      if (word === "[" || word === "(" || word === "{") brackets++;
      else if (word === "]" || word === ")" || word === "}") brackets--;
      else if (brackets > 0) continue; // `end` inside an index is not a block closer
      else if (OPENERS.has(word)) blocks++;
      else if (CLOSERS.has(word)) blocks--;
    }
  }
  return blocks <= 0 && brackets <= 0 && !continued;
}
