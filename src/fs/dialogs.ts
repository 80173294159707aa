// Headless answers to the runtime's file dialog hooks (uigetfile, uiputfile, uigetdir).
// No one is there to click, so every dialog is cancelled unless answers were preset, either as an
// option or as a JSON file (`--answer-dialogs FILE`):
//   { "open":      [ {"paths": ["/data/a.csv"], "filterIndex": 0}, "/data/b.csv", null ],
//     "save":      [ {"path": "/out/result.csv"} ],
//     "directory": [ "/data" ] }
// Each dialog call takes the next answer of its kind; null (or running out) means "cancel".
// Paths are virtual paths (see bindings.ts) and must stay inside the workspace.
import { readFileSync } from "node:fs";
import { native } from "../native.js";
import { isNativeErrorCode } from "./native-provider.js";

export interface OpenDialogSelection {
  paths: string[];
  filterIndex?: number;
}
export interface SaveDialogSelection {
  path: string;
  filterIndex?: number;
}
export interface DirectoryDialogSelection {
  path: string;
}

export type OpenDialogAnswer = OpenDialogSelection | string | null;
export type SaveDialogAnswer = SaveDialogSelection | string | null;
export type DirectoryDialogAnswer = DirectoryDialogSelection | string | null;

export interface DialogAnswers {
  open?: OpenDialogAnswer[];
  save?: SaveDialogAnswer[];
  directory?: DirectoryDialogAnswer[];
}

export type DialogKind = "open" | "save" | "directory";

/** One line per dialog the runtime raised, for logs and tests. */
export interface DialogRecord {
  kind: DialogKind;
  request: unknown;
  answered: boolean;
}

export class DialogAnswerError extends Error {
  readonly code = "INVALID_ARGUMENT";
  constructor(message: string) {
    super(message);
    this.name = "DialogAnswerError";
  }
}

export class HeadlessDialogs {
  private readonly open: Array<OpenDialogSelection | null>;
  private readonly save: Array<SaveDialogSelection | null>;
  private readonly directory: Array<DirectoryDialogSelection | null>;
  readonly history: DialogRecord[] = [];

  constructor(answers: DialogAnswers = {}) {
    const checked = validateDialogAnswers(answers);
    this.open = checked.open;
    this.save = checked.save;
    this.directory = checked.directory;
  }

  selectFileOpen(request: unknown): OpenDialogSelection | null {
    return this.take("open", this.open, request);
  }

  selectFileSave(request: unknown): SaveDialogSelection | null {
    return this.take("save", this.save, request);
  }

  selectDirectory(request: unknown): DirectoryDialogSelection | null {
    return this.take("directory", this.directory, request);
  }

  private take<T>(kind: DialogKind, queue: Array<T | null>, request: unknown): T | null {
    const answer = queue.length > 0 ? (queue.shift() ?? null) : null;
    this.history.push({ kind, request, answered: answer !== null });
    return answer;
  }
}

export function loadDialogAnswers(file: string): DialogAnswers {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new DialogAnswerError(`cannot read dialog answers from ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as DialogAnswers;
  } catch (error) {
    throw new DialogAnswerError(`dialog answers in ${file} are not valid JSON: ${(error as Error).message}`);
  }
}

function validateDialogAnswers(answers: DialogAnswers): {
  open: Array<OpenDialogSelection | null>;
  save: Array<SaveDialogSelection | null>;
  directory: Array<DirectoryDialogSelection | null>;
} {
  if (answers === null || typeof answers !== "object" || Array.isArray(answers)) {
    throw new DialogAnswerError("dialog answers must be an object with optional open, save and directory lists");
  }
  for (const key of Object.keys(answers)) {
    if (key !== "open" && key !== "save" && key !== "directory") {
      throw new DialogAnswerError(`dialog answers: unknown key "${key}" (expected open, save, directory)`);
    }
  }
  return {
    open: list(answers.open, "open").map((answer, i) => {
      if (answer === null) return null;
      if (typeof answer === "string") return { paths: [checkPath(answer, `open[${i}]`)] };
      const paths = (answer as OpenDialogSelection).paths;
      if (!Array.isArray(paths) || paths.length === 0) throw new DialogAnswerError(`dialog answers: open[${i}].paths must be a non-empty list of paths`);
      return withIndex({ paths: paths.map((p, j) => checkPath(p, `open[${i}].paths[${j}]`)) }, answer, `open[${i}]`);
    }),
    save: list(answers.save, "save").map((answer, i) => {
      if (answer === null) return null;
      if (typeof answer === "string") return { path: checkPath(answer, `save[${i}]`) };
      return withIndex({ path: checkPath((answer as SaveDialogSelection).path, `save[${i}].path`) }, answer, `save[${i}]`);
    }),
    directory: list(answers.directory, "directory").map((answer, i) => {
      if (answer === null) return null;
      if (typeof answer === "string") return { path: checkPath(answer, `directory[${i}]`) };
      return { path: checkPath((answer as DirectoryDialogSelection).path, `directory[${i}].path`) };
    }),
  };
}

function list<T>(value: T[] | undefined, key: string): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new DialogAnswerError(`dialog answers: "${key}" must be a list`);
  return [...value];
}

function checkPath(path: unknown, where: string): string {
  if (typeof path !== "string" || path === "") throw new DialogAnswerError(`dialog answers: ${where} must be a non-empty path string`);
  try {
    return native().normaliseVirtualPath(path);
  } catch (error) {
    if (isNativeErrorCode((error as { code?: unknown }).code)) throw new DialogAnswerError(`dialog answers: ${where}: ${(error as Error).message}`);
    throw error;
  }
}

function withIndex<T extends object>(selection: T, answer: unknown, where: string): T & { filterIndex?: number } {
  const filterIndex = (answer as { filterIndex?: unknown }).filterIndex;
  if (filterIndex === undefined) return selection;
  if (typeof filterIndex !== "number" || !Number.isInteger(filterIndex) || filterIndex < 0) {
    throw new DialogAnswerError(`dialog answers: ${where}.filterIndex must be a non-negative integer`);
  }
  return { ...selection, filterIndex };
}
