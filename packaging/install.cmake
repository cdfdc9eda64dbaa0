# `cmake --install` and the Debian package (CPack DEB): the binary, a man
# page per command (packaging/manpages, help2man, written at install time so
# a build pays nothing for them), the systemd units and the settings link
# under /etc/knooppunt. With CMAKE_INSTALL_PREFIX=/usr (the package's) the
# paths are Debian's: /usr/bin, /usr/share/man/man1, /lib/systemd/system,
# /etc/knooppunt, data in /var/lib/knooppunt.
# The default prefix is /usr, the package's, so that `cmake --install` and
# the package put every file in the same place and the units name the binary
# where it is (-DCMAKE_INSTALL_PREFIX=/usr/local for a local install).
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX "/usr" CACHE PATH "Install prefix" FORCE)
endif()
include(GNUInstallDirs)

set(KP_DATA_DIR "${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/knooppunt" CACHE PATH
    "The data directory the systemd units and the package use")
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(kp_default_unit_dir "/lib/systemd/system")
else()
  set(kp_default_unit_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(KP_SYSTEMD_UNIT_DIR "${kp_default_unit_dir}" CACHE PATH "Where the systemd units are installed")
set(KP_BIN "${CMAKE_INSTALL_FULL_BINDIR}/knooppunt")

install(TARGETS knooppunt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Man pages: generated from the installed program's own --help texts.
set(kp_man_dir "${CMAKE_BINARY_DIR}/man")
install(CODE "execute_process(COMMAND ${CMAKE_SOURCE_DIR}/packaging/manpages $<TARGET_FILE:knooppunt> ${kp_man_dir}
                              COMMAND_ERROR_IS_FATAL ANY)")
install(DIRECTORY ${kp_man_dir}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# systemd units: one sandbox (sandbox.conf.in) shared by both.
set(KP_UNIT_EXTRA_CAPS "")
configure_file(packaging/systemd/sandbox.conf.in ${CMAKE_BINARY_DIR}/systemd/sandbox-worker.conf @ONLY)
set(KP_UNIT_EXTRA_CAPS "CAP_NET_BIND_SERVICE")
configure_file(packaging/systemd/sandbox.conf.in ${CMAKE_BINARY_DIR}/systemd/sandbox-serve.conf @ONLY)
file(READ ${CMAKE_BINARY_DIR}/systemd/sandbox-serve.conf KP_UNIT_SANDBOX)
configure_file(packaging/systemd/knooppunt.service.in ${CMAKE_BINARY_DIR}/systemd/knooppunt.service @ONLY)
file(READ ${CMAKE_BINARY_DIR}/systemd/sandbox-worker.conf KP_UNIT_SANDBOX)
configure_file(packaging/systemd/knooppunt-worker.service.in ${CMAKE_BINARY_DIR}/systemd/knooppunt-worker.service @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/systemd/knooppunt.service ${CMAKE_BINARY_DIR}/systemd/knooppunt-worker.service
        DESTINATION ${KP_SYSTEMD_UNIT_DIR})

# The settings live in the data directory (DATA/knooppunt.conf, written by
# `init` with every setting, its default and a comment; backups carry it);
# /etc/knooppunt/knooppunt.conf points there, where an administrator looks.
set(kp_etc "${CMAKE_INSTALL_FULL_SYSCONFDIR}/knooppunt")
install(CODE "file(MAKE_DIRECTORY \"\$ENV{DESTDIR}${kp_etc}\")
              file(CREATE_LINK ${KP_DATA_DIR}/knooppunt.conf \"\$ENV{DESTDIR}${kp_etc}/knooppunt.conf\" SYMBOLIC)")

include(packaging/deb.cmake)
