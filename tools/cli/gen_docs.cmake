# Writes the man page (`sinapsis help --man`) and the bash completion (`sinapsis completion
# bash`) of the built tool BIN to MAN and COMPLETION; run by the build (tools/cli/CMakeLists.txt)
# so that `cmake --install` has them. cmake -DBIN=... -DMAN=... -DCOMPLETION=... -P gen_docs.cmake
foreach(job "MAN;help;--man" "COMPLETION;completion;bash")
  list(POP_FRONT job var)
  execute_process(COMMAND ${BIN} ${job} OUTPUT_FILE ${${var}}.tmp RESULT_VARIABLE rc
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gen_docs: '${BIN} ${job}' failed (exit ${rc}): ${err}")
  endif()
  file(RENAME ${${var}}.tmp ${${var}})
endforeach()
