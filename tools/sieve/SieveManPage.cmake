# Writes sieve.1 with help2man: the top-level --help, then every command's
# --help in a COMMANDS section, then the hand-written sections of sieve.h2m.
#   cmake -DSIEVE=... -DHELP2MAN=... -DVERSION=... -DH2M=... -DOUTPUT=... -P SieveManPage.cmake
set(include "${OUTPUT}.h2m")
file(READ ${H2M} text)
string(APPEND text "\n[COMMANDS]\n")
foreach(command list compile inspect run)
  execute_process(COMMAND ${SIEVE} ${command} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "sieve ${command} --help failed (${rc})")
  endif()
  # roff: backslashes are escapes, and a line starting with . or ' a request.
  string(REPLACE "\\" "\\e" help "${help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  string(APPEND text ".SS \"sieve ${command}\"\n.nf\n${help}.fi\n")
endforeach()
file(WRITE ${include} "${text}")
execute_process(
  COMMAND ${HELP2MAN} --no-info --section=1 "--name=a sparse-attention pattern compiler"
          "--version-string=sieve ${VERSION}" --include=${include} --output=${OUTPUT} ${SIEVE}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed (${rc})")
endif()
# Installed compressed, as Debian ships man pages (-n: no name or time
# stamp in the archive, so the build is reproducible).
execute_process(COMMAND gzip -9nc ${OUTPUT} OUTPUT_FILE ${OUTPUT}.gz RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed (${rc})")
endif()
