import type { DownloaderName } from '../../definition/registry-names.js';
import type { Downloader } from '../types.js';
import { almalinuxHttp } from './almalinux-http.js';
import { alpinelinuxHttp } from './alpinelinux-http.js';
import { archlinuxHttp } from './archlinux-http.js';
import { fedoraHttp } from './fedora-http.js';
import { gentooHttp } from './gentoo-http.js';
import { nixosHttp } from './nixos-http.js';
import { opensuseHttp } from './opensuse-http.js';
import { openwrtHttp } from './openwrt-http.js';
import { busybox } from './busybox.js';
import { centosHttp } from './centos-http.js';
import { debootstrap } from './debootstrap.js';
import { dockerHttp } from './docker-http.js';
import { mmdebstrap } from './mmdebstrap.js';
import { rockylinuxHttp } from './rockylinux-http.js';
import { rootfsHttp } from './rootfs-http.js';
import { ubuntuHttp } from './ubuntu-http.js';
import { voidlinuxHttp } from './voidlinux-http.js';

/**
 * Every downloader kiln knows, by the name a definition's `source.downloader`
 * uses. Typed by the one list of names (src/definition/registry-names.ts):
 * a name without an implementation, or the other way round, does not compile.
 */
const table: Record<DownloaderName, Downloader> = {
  busybox,
  debootstrap,
  'docker-http': dockerHttp,
  mmdebstrap,
  'rootfs-http': rootfsHttp,
  'alpinelinux-http': alpinelinuxHttp,
  'archlinux-http': archlinuxHttp,
  'fedora-http': fedoraHttp,
  'opensuse-http': opensuseHttp,
  'ubuntu-http': ubuntuHttp,
  'voidlinux-http': voidlinuxHttp,
  'gentoo-http': gentooHttp,
  'nixos-http': nixosHttp,
  'openwrt-http': openwrtHttp,
  'centos-http': centosHttp,
  'rockylinux-http': rockylinuxHttp,
  'almalinux-http': almalinuxHttp,
};

export const downloaders: ReadonlyMap<string, Downloader> = new Map(Object.entries(table));
