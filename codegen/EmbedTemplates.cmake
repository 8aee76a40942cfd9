# Writes OUTPUT: each file of INPUTS as a raw string literal named k<Stem>, so
# the hand-written kernel templates ship inside the library.
string(REPLACE "|" ";" INPUTS "${INPUTS}")
set(out "// Generated from codegen/templates by EmbedTemplates.cmake.\n")
foreach(path ${INPUTS})
  get_filename_component(stem ${path} NAME_WE)
  file(READ ${path} text)
  string(APPEND out "static const char k${stem}[] = R\"sieve_embed(${text})sieve_embed\";\n")
endforeach()
file(WRITE ${OUTPUT} "${out}")
