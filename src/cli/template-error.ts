// Errors of the --format template engine. Docker prints them as
// "template parsing error: ..." for both parse and execution failures.
export type TemplateErrorInfo =
  | { code: 'PARSE'; reason: string }
  | { code: 'EXEC'; at: string; reason: string };

export class TemplateError extends Error {
  readonly info: TemplateErrorInfo;
  constructor(info: TemplateErrorInfo) {
    super(info.code === 'PARSE'
      ? `template parsing error: template: ${info.reason}`
      : `template parsing error: template: executing "" at <${info.at}>: ${info.reason}`);
    this.name = 'TemplateError';
    this.info = info;
  }
}
