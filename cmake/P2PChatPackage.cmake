# CPack: `cpack -G DEB` in the build directory builds p2pchat_VERSION_ARCH.deb for Debian 12.
# Installed to /usr (units in /usr/lib/systemd, config in /etc); the maintainer scripts in
# packaging/debian create the p2pchat user (systemd-sysusers) and reload systemd, after
# which `systemctl start p2pchatd` (or `systemctl enable --now p2pchatd.socket`) works.
set(CPACK_PACKAGE_NAME "p2pchat")
set(CPACK_PACKAGE_VENDOR "p2pchat")
# No mailing list exists yet: .invalid (RFC 2606) says so instead of a made-up address.
set(CPACK_PACKAGE_CONTACT "p2pchat developers <dev@p2pchat.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "peer-to-peer chat daemon and command-line client")
# Lines under 80 columns (lintian: extended-description-line-too-long).
set(CPACK_PACKAGE_DESCRIPTION
    "p2pchatd is one node of a serverless chat network; p2pchatctl talks to it
through a JSON-RPC control socket and chats from the shell. Includes systemd
units (socket-activated, hardened), a D-Bus interface, shell completions and
manual pages.")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
# Install with DESTDIR and the real prefix, so that the install-time paths (ExecStart=,
# /etc) come out as they will be on the target system.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-sysusers in postinst; a system bus for --dbus=system.
# deb-systemd-helper and deb-systemd-invoke (init-system-helpers) in the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "systemd, init-system-helpers (>= 1.54~), default-dbus-system-bus | dbus-system-bus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/packaging/debian/postinst"
    "${PROJECT_SOURCE_DIR}/packaging/debian/prerm"
    "${PROJECT_SOURCE_DIR}/packaging/debian/postrm"
    "${PROJECT_SOURCE_DIR}/packaging/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
