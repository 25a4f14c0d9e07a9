# TEMPO_SANITIZE is a list such as "address;undefined"; applied to every target.
if(TEMPO_SANITIZE)
  foreach(s IN LISTS TEMPO_SANITIZE)
    add_compile_options(-fsanitize=${s})
    add_link_options(-fsanitize=${s})
  endforeach()
  add_compile_options(-fno-omit-frame-pointer -fno-sanitize-recover=undefined)
endif()
