/** What the node server needs from the node agent: its containers, their log files, and running commands in them. */

export interface NodeContainer {
  /** The CRI container id. */
  readonly containerId: string;
  /** The container's CRI log file. */
  readonly logPath: string;
  readonly running: boolean;
}

export interface ExecResult {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly exitCode: number;
}

export interface NodeServerPods {
  /**
   * The container's CRI id and log path, or undefined when unknown. `previous`
   * asks for the last terminated instance (after a restart). `container`
   * undefined means the pod's only container.
   */
  findContainer(namespace: string, pod: string, container: string | undefined, previous: boolean): Promise<NodeContainer | undefined>;
  /** Runs `cmd` in the container to its end (CRI ExecSync), killing it after `timeoutMs`. */
  execSync(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecResult>;
}
