// Mounts and volumes as the Engine API shows them: a container's MountPoints
// (inspect and ps), HostConfig.Mounts given back, and the Volume object.
import type { State } from '../core/state.ts';
import type { MountSpec, SandboxRecord, VolumeRecord } from '../model/records.ts';
import type { MountPointWire, MountWire, VolumeWire } from './wire.ts';

/** Docker lists binds, volumes and --mount tmpfs; HostConfig.Tmpfs mounts only under HostConfig. */
export function mountPoints(state: State, sbx: SandboxRecord): MountPointWire[] {
  return sbx.run.mounts.filter((m) => m.origin !== 'tmpfs').map((m): MountPointWire => {
    const base = { Destination: m.destination, Mode: m.mode, RW: !m.readonly };
    if (m.type === 'bind') return { Type: 'bind', Source: m.source, ...base, Propagation: m.propagation };
    if (m.type === 'tmpfs') return { Type: 'tmpfs', Source: '', ...base, Propagation: '' };
    const v = state.volumes.get(m.source);
    return { Type: 'volume', Name: m.source, Source: v?.mountpoint ?? '', ...base, Driver: v?.driver ?? 'local', Propagation: '' };
  });
}

export function mountSpecsToWire(specs: readonly MountSpec[]): MountWire[] {
  return specs.map((m) => ({
    Type: m.type,
    // Go's omitempty, as Docker gives them back.
    ...(m.source ? { Source: m.source } : {}),
    Target: m.target,
    ...(m.readOnly ? { ReadOnly: true } : {}),
    ...(m.propagation ? { BindOptions: { Propagation: m.propagation } } : {}),
    ...(m.noCopy !== undefined || m.volumeLabels || m.volumeDriver || m.volumeDriverOpts ? {
      VolumeOptions: {
        ...(m.noCopy ? { NoCopy: true } : {}),
        ...(m.volumeLabels ? { Labels: m.volumeLabels } : {}),
        ...(m.volumeDriver || m.volumeDriverOpts ? { DriverConfig: { ...(m.volumeDriver ? { Name: m.volumeDriver } : {}), ...(m.volumeDriverOpts ? { Options: m.volumeDriverOpts } : {}) } } : {}),
      },
    } : {}),
    ...(m.sizeBytes !== undefined || m.mode !== undefined ? {
      TmpfsOptions: { ...(m.sizeBytes ? { SizeBytes: m.sizeBytes } : {}), ...(m.mode ? { Mode: m.mode } : {}) },
    } : {}),
  }));
}

/** Labels and Options are null when empty, as moby's (nil maps). */
export function volumeView(v: VolumeRecord, usage?: { size: number; refCount: number }): VolumeWire {
  return {
    CreatedAt: v.created,
    Driver: v.driver,
    Labels: Object.keys(v.labels).length ? v.labels : null,
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: Object.keys(v.options).length ? v.options : null,
    Scope: 'local',
    ...(usage ? { UsageData: { Size: usage.size, RefCount: usage.refCount } } : {}),
  };
}
