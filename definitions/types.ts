/** What the definitions loader reads (source files) and reports (errors with their place). */
/** One problem in an applied file set; every field a user needs to find and fix it. */
export interface DefinitionError {
  file: string;
  /** 1-based; absent when the problem is not tied to a place in the file. */
  line?: number;
  column?: number;
  /** Field path inside the document, e.g. "steps[1].with.webhook". Empty for the whole document. */
  path: string;
  message: string;
}

export interface SourceFile {
  /** Shown in errors; need not exist on the server's disk. */
  path: string;
  content: string;
}
