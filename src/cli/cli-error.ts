// Errors the CLI finds itself, before or after talking to the daemon.
export type CliErrorInfo =
  | { code: 'IPAM_FLAGS'; reason: string }
  | { code: 'PORT_SPEC'; spec: string; reason: string }
  | { code: 'BAD_FLAG'; flag: string; value: string; expected: string }
  | { code: 'NO_SUCH_OBJECT'; name: string }
  | { code: 'NO_PUBLIC_PORT'; port: string; container: string };

function messageOf(i: CliErrorInfo): string {
  switch (i.code) {
    case 'IPAM_FLAGS': return i.reason;
    case 'PORT_SPEC': return `invalid port specification "${i.spec}": ${i.reason}`;
    case 'BAD_FLAG': return `invalid argument "${i.value}" for "${i.flag}" flag: expected ${i.expected}`;
    case 'NO_SUCH_OBJECT': return `No such object: ${i.name}`;
    case 'NO_PUBLIC_PORT': return `No public port '${i.port}' published for ${i.container}`;
  }
}

export class CliError extends Error {
  readonly info: CliErrorInfo;
  constructor(info: CliErrorInfo) {
    super(messageOf(info));
    this.name = 'CliError';
    this.info = info;
  }
}
