# Install rules for everything besides the two programs (whose rules live next to their
# targets): systemd units, sysusers.d/tmpfiles.d entries, the D-Bus policy, manual pages,
# the example configuration and shell completions. Included from the top-level CMakeLists.
#
# Every destination is relative to the install prefix, so `cmake --install BUILD --prefix P`
# and DESTDIR= both work. Two things depend on the prefix chosen at *install* time and are
# therefore computed in install(CODE) rather than at configure time:
#   - ExecStart= in the units, the installed path of p2pchatd;
#   - the configuration directory: /etc for the prefix /usr (as GNUInstallDirs does),
#     PREFIX/etc otherwise. p2pchatd reads /etc/p2pchat/p2pchatd.conf by default.

# Unit, sysusers and tmpfiles directories from pkg-config systemd, made relative to the
# prefix: Debian 12 says systemdsystemunitdir=/lib/systemd/system (root prefix "") and
# systemduserunitdir=/usr/lib/systemd/user; with merged /usr both end up under
# PREFIX/lib/systemd. Without systemd.pc, the same defaults. Cache variables, so a
# distribution can point them elsewhere (absolute paths are used as given).
function(p2pchat_systemd_dir out variable fallback)
  set(dir "${fallback}")
  if(PKG_CONFIG_FOUND)
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=${variable} systemd
                    OUTPUT_VARIABLE value OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE rc ERROR_QUIET)
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=prefix systemd
                    OUTPUT_VARIABLE pc_prefix OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(rc EQUAL 0 AND value MATCHES "^/")
      if(pc_prefix AND value MATCHES "^${pc_prefix}/(.+)$")
        set(dir "${CMAKE_MATCH_1}")
      elseif(value MATCHES "^/(.+)$")
        set(dir "${CMAKE_MATCH_1}")
      endif()
    endif()
  endif()
  set(${out} "${dir}" CACHE STRING "Install directory for ${variable} (relative to the prefix)")
endfunction()

p2pchat_systemd_dir(P2PCHAT_SYSTEMD_SYSTEM_UNIT_DIR systemdsystemunitdir lib/systemd/system)
p2pchat_systemd_dir(P2PCHAT_SYSTEMD_USER_UNIT_DIR systemduserunitdir lib/systemd/user)
p2pchat_systemd_dir(P2PCHAT_SYSUSERS_DIR sysusersdir lib/sysusers.d)
p2pchat_systemd_dir(P2PCHAT_TMPFILES_DIR tmpfilesdir lib/tmpfiles.d)
set(P2PCHAT_DBUS_SYSTEM_POLICY_DIR "${CMAKE_INSTALL_DATADIR}/dbus-1/system.d"
    CACHE STRING "Install directory for the D-Bus system bus policy (relative to the prefix)")

set(p2pchat_systemd_src "${PROJECT_SOURCE_DIR}/systemd")
set(p2pchat_stage "${PROJECT_BINARY_DIR}/install-stage")

# Units: rendered at install time with the installed path of p2pchatd, then installed under
# their final names (the user variants are p2pchatd.service/.socket in the user unit dir).
install(CODE "
  set(P2PCHATD_PATH \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/p2pchatd\")
  if(IS_ABSOLUTE \"${CMAKE_INSTALL_SBINDIR}\")
    set(P2PCHATD_PATH \"${CMAKE_INSTALL_SBINDIR}/p2pchatd\")
  endif()
  foreach(pair \"p2pchatd.service.in:system/p2pchatd.service\"
               \"p2pchatd-user.service.in:user/p2pchatd.service\")
    string(REPLACE \":\" \";\" pair \"\${pair}\")
    list(GET pair 0 src)
    list(GET pair 1 dst)
    configure_file(\"${p2pchat_systemd_src}/\${src}\" \"${p2pchat_stage}/\${dst}\" @ONLY)
  endforeach()
  set(P2PCHAT_NOTIFY_PATH \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/p2pchat-notify\")
  if(IS_ABSOLUTE \"${CMAKE_INSTALL_BINDIR}\")
    set(P2PCHAT_NOTIFY_PATH \"${CMAKE_INSTALL_BINDIR}/p2pchat-notify\")
  endif()
  configure_file(\"${p2pchat_systemd_src}/p2pchat-notify.service.in\" \"${p2pchat_stage}/user/p2pchat-notify.service\" @ONLY)
  configure_file(\"${p2pchat_systemd_src}/p2pchatd.socket\" \"${p2pchat_stage}/system/p2pchatd.socket\" COPYONLY)
  configure_file(\"${p2pchat_systemd_src}/p2pchatd-user.socket\" \"${p2pchat_stage}/user/p2pchatd.socket\" COPYONLY)
")
foreach(kind SYSTEM USER)
  string(TOLOWER ${kind} sub)
  install(CODE "
    set(dir \"${P2PCHAT_SYSTEMD_${kind}_UNIT_DIR}\")
    if(NOT IS_ABSOLUTE \"\${dir}\")
      set(dir \"\${CMAKE_INSTALL_PREFIX}/\${dir}\")
    endif()
    file(INSTALL DESTINATION \"\${dir}\" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
         FILES \"${p2pchat_stage}/${sub}/p2pchatd.service\" \"${p2pchat_stage}/${sub}/p2pchatd.socket\")
  ")
endforeach()
install(CODE "
  set(dir \"${P2PCHAT_SYSTEMD_USER_UNIT_DIR}\")
  if(NOT IS_ABSOLUTE \"\${dir}\")
    set(dir \"\${CMAKE_INSTALL_PREFIX}/\${dir}\")
  endif()
  file(INSTALL DESTINATION \"\${dir}\" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES \"${p2pchat_stage}/user/p2pchat-notify.service\")
")

install(FILES ${p2pchat_systemd_src}/p2pchat.sysusers DESTINATION ${P2PCHAT_SYSUSERS_DIR}
        RENAME p2pchat.conf)
install(FILES ${p2pchat_systemd_src}/p2pchat.tmpfiles DESTINATION ${P2PCHAT_TMPFILES_DIR}
        RENAME p2pchat.conf)
install(FILES ${PROJECT_SOURCE_DIR}/dbus/net.p2pchat.P2PChat1.conf
        DESTINATION ${P2PCHAT_DBUS_SYSTEM_POLICY_DIR})

# The example configuration: every line commented out, so installing it changes nothing.
install(CODE "
  set(dir \"${CMAKE_INSTALL_SYSCONFDIR}\")
  if(NOT IS_ABSOLUTE \"\${dir}\")
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
      set(dir \"/\${dir}\")
    else()
      set(dir \"\${CMAKE_INSTALL_PREFIX}/\${dir}\")
    endif()
  endif()
  file(INSTALL DESTINATION \"\${dir}/p2pchat\" TYPE FILE
       FILES \"${PROJECT_SOURCE_DIR}/etc/p2pchat/p2pchatd.conf\")
")

# Manual pages: every man/NAME.SECTION into MANDIR/manSECTION, compressed as Debian policy
# asks (gzip -9n: no name or time stamp, so builds are reproducible); man-db reads them.
# The package's changelog and copyright go with them into the documentation directory.
find_program(P2PCHAT_GZIP gzip REQUIRED)
file(GLOB p2pchat_man_pages CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/man/*.[1-9]")
set(p2pchat_compressed "")
foreach(page IN LISTS p2pchat_man_pages)
  get_filename_component(name "${page}" NAME)
  string(REGEX MATCH "[1-9]$" section "${page}")
  set(out "${PROJECT_BINARY_DIR}/man/${name}.gz")
  add_custom_command(OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${PROJECT_BINARY_DIR}/man"
    COMMAND sh -c "${P2PCHAT_GZIP} -9nc \"$1\" > \"$2\"" sh "${page}" "${out}"
    DEPENDS "${page}" VERBATIM)
  list(APPEND p2pchat_compressed "${out}")
  install(FILES "${out}" DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
configure_file("${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in"
               "${PROJECT_BINARY_DIR}/packaging/changelog" @ONLY)
set(p2pchat_changelog "${PROJECT_BINARY_DIR}/packaging/changelog.gz")
add_custom_command(OUTPUT "${p2pchat_changelog}"
  COMMAND sh -c "${P2PCHAT_GZIP} -9nc \"$1\" > \"$2\"" sh
          "${PROJECT_BINARY_DIR}/packaging/changelog" "${p2pchat_changelog}"
  DEPENDS "${PROJECT_BINARY_DIR}/packaging/changelog" VERBATIM)
add_custom_target(p2pchat_compressed_docs ALL DEPENDS ${p2pchat_compressed} "${p2pchat_changelog}")
install(FILES "${p2pchat_changelog}" "${PROJECT_SOURCE_DIR}/packaging/debian/copyright"
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Documentation for the D-Bus interface and the control API.
install(FILES ${PROJECT_SOURCE_DIR}/docs/CONTROL.md ${PROJECT_SOURCE_DIR}/docs/DBUS.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
