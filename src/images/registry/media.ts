// Manifest media types a v2 registry serves (distribution manifest-v2-2.md,
// image-spec media-types.md), and the Accept list Docker sends.
export const MT_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MT_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MT_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MT_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MT_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const MT_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MT_DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const MT_OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
// Schema 1 (removed in Docker 28): signed and unsigned forms.
export const MT_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const MT_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

export const MANIFEST_ACCEPT = [MT_DOCKER_MANIFEST, MT_DOCKER_LIST, MT_OCI_MANIFEST, MT_OCI_INDEX];

export const isIndexType = (mt: string): boolean => mt === MT_DOCKER_LIST || mt === MT_OCI_INDEX;
export const isManifestType = (mt: string): boolean => mt === MT_DOCKER_MANIFEST || mt === MT_OCI_MANIFEST;

export interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
  urls?: string[];
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An image manifest (Docker schema 2 or OCI). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** A manifest list or OCI index. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}
