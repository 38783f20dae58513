// One language's spelling dictionary, as the language identifier asks it: is this word one of the language's?
//
// Two kinds, both Debian packages:
//  - aspell: GNU Aspell's word lists, compiled by Debian when an aspell-* package is installed and mapped from disk
//    when opened (the eleven languages: ~25 ms, no memory of their own beyond the pages a lookup reads);
//  - hunspell: hunspell's .aff/.dic files, parsed at every start (the eleven languages: ~1.2 s of CPU and ~160 MB
//    of memory in each worker process).
// Locating a dictionary (its files there, its charset one iconv converts to) is apart from opening it, so that
// what stops a run is found before the run begins while the opening itself may wait (pipeline/stage_loading.hpp).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace cluetrace::language {

enum class DictionaryKind { aspell, hunspell };

// "aspell" / "hunspell"; parse_dictionary_kind throws std::invalid_argument for any other name.
std::string_view dictionary_kind_name(DictionaryKind kind);
DictionaryKind parse_dictionary_kind(std::string_view name);

// A dictionary found on disk, not yet opened.
struct DictionarySource {
  DictionaryKind kind = DictionaryKind::aspell;
  std::string language;         // ISO 639-1, as configured
  std::string name;             // aspell's master dictionary or hunspell's locale: "de_DE", "pl"
  std::filesystem::path dir;    // where its files are
  std::filesystem::path main;   // the file that names its charset: aspell's <lang>.dat, hunspell's .aff
  std::string charset;          // the charset its words are kept in: a word it cannot hold is not one of them
  std::string describe() const;  // "aspell de_DE (/usr/lib/aspell, iso8859-1)"
};

// The library that reads a kind of dictionary, with its version ("GNU Aspell 0.60.8", "hunspell").
std::string dictionary_library(DictionaryKind kind);

// The dictionary's name for a language code ("de" -> "de_DE"), per kind; empty when there is none.
std::string dictionary_name(DictionaryKind kind, std::string_view language);

// Finds `language`'s dictionary of `kind` in `dir` (aspell: empty = aspell's own folder), checks its files are
// there and that UTF-8 converts to its charset; throws std::runtime_error naming the file and the Debian package.
DictionarySource locate_dictionary(DictionaryKind kind, const std::string& language, const std::filesystem::path& dir);

class WordDictionary {
 public:
  virtual ~WordDictionary() = default;
  // Whether the dictionary spells `word` (UTF-8) as written (case included); a word with a letter outside the
  // dictionary's charset is not one of its words. Not safe to call from two threads at once.
  virtual bool spells(const std::string& word) = 0;
};

// Opens a located dictionary; throws std::runtime_error naming it when it cannot.
std::unique_ptr<WordDictionary> open_dictionary(const DictionarySource& source);

// Aspell's compiled word lists (files ending in .rws) as this process has them mapped: read-only views of files
// in the kernel's page cache. A lookup maps the pages it reads, and over a run they add up to the files' size
// (~116 MB for the eleven languages, 63 MB of it Czech) in the process's resident memory, though the kernel
// holds them once for every process and may drop them, clean, when memory runs short.
//
// Unmaps the pages of every word list this process has mapped (found in /proc/self/maps at the call, so a list
// closed since is never touched): they stay in the page cache, and the next lookup that reads one maps it again
// (a minor fault, nothing read from disk while the kernel keeps it). Lookups read them at random from then on:
// a fault maps the page it needs, not the ones around it. Safe while other threads look words up.
void unmap_word_list_pages();
// The bytes of the word lists this process has mapped (mapped, not resident).
std::size_t mapped_word_list_bytes();

}  // namespace cluetrace::language
