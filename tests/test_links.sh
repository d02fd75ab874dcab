#!/usr/bin/env bash
# The documentation's links hold: in README.md and every docs/*.md, each relative link
# and image target names a file or folder (relative to the file holding it), each anchor
# (#anchor, or file.md#anchor) names a heading of its file by GitHub's slug rule, each
# backticked path under a committed top-level folder names something in the repository,
# and README.md stays short (at most 250 lines). Paths under data/, backup/, runs/,
# build/, bin/ and experiments/ are made at run time and are not checked. Failures print
# as `FAIL: file:line: message`.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/check.sh
max_readme_lines=250

# Markdown tokenizer (perl: Debian's perl-base is always installed). For each file it
# prints tab-separated records, skipping fenced code blocks:
#   LINK file line target     the target of [text](target), ![alt](target), [ref]: target,
#                             <img src=target> and <a href=target>, outside code spans
#   CODE file line span       the text of an inline code span (line of its opening backtick)
#   HEAD file slug            a heading's GitHub anchor (duplicates get -1, -2, ...),
#                             and the name or id of an <a> anchor
tokenize() {
  perl -CSD -Mutf8 -e '
    use strict; use warnings;
    sub slug {
      my $t = lc shift;
      $t =~ s/!?\[([^\]]*)\]\([^)]*\)/$1/g;     # a link in a heading counts by its text
      $t =~ s/<[^>]+>//g;                       # inline HTML tags
      $t =~ s/[^\p{Word}\- ]//g;                # drop punctuation but - and _
      $t =~ s/ /-/g;
      return $t;
    }
    for my $file (@ARGV) {
      open(my $fh, "<", $file) or die "$file: $!\n";
      my ($fence, @para, %seen) = ("");
      my $flush = sub {
        return unless @para;
        my $start = $para[0][0];
        my $text = join("\n", map { $_->[1] } @para);
        @para = ();
        my $masked = $text;
        while ($text =~ /(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)/gs) {
          my ($from, $to) = ($-[0], $+[0]);
          my $span = $2;
          my $line = $start + (substr($text, 0, $from) =~ tr/\n//);
          $span =~ s/\s+/ /g; $span =~ s/^ | $//g;
          print "CODE\t$file\t$line\t$span\n";
          my $hole = substr($text, $from, $to - $from);
          $hole =~ s/[^\n]/x/g;
          substr($masked, $from, $to - $from) = $hole;
        }
        my @found;
        while ($masked =~ /!?\[[^\]]*\]\(\s*<?([^()\s<>]+)>?(?:\s+"[^"]*")?\s*\)/g) {
          push @found, [$-[0], $1];
        }
        while ($masked =~ /^[ ]{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/mg) { push @found, [$-[0], $1] }
        while ($masked =~ /<(?:img|a)\b[^>]*?\b(?:src|href)\s*=\s*"([^"]*)"/g) { push @found, [$-[0], $1] }
        while ($masked =~ /<a\b[^>]*?\b(?:name|id)\s*=\s*"([^"]*)"/g) { print "HEAD\t$file\t$1\n" }
        for my $f (@found) {
          my $line = $start + (substr($masked, 0, $f->[0]) =~ tr/\n//);
          print "LINK\t$file\t$line\t$f->[1]\n";
        }
      };
      while (my $l = <$fh>) {
        chomp $l;
        if ($fence ne "") {
          $fence = "" if $l =~ /^\s*\Q$fence\E\s*$/ || $l =~ /^\s*\Q$fence\E+\s*$/;
          next;
        }
        if ($l =~ /^\s{0,3}(`{3,}|~{3,})/) { $flush->(); $fence = $1; next }
        if ($l =~ /^\s*$/) { $flush->(); next }
        if ($l =~ /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/) {
          $flush->();
          my $s = slug($1);
          my $n = $seen{$s}++;
          print "HEAD\t$file\t", ($n ? "$s-$n" : $s), "\n";
          push @para, [$., $l]; $flush->();
          next;
        }
        push @para, [$., $l];
      }
      $flush->();
      close $fh;
    }
  ' "$@"
}

fail() { # fail FILE LINE MESSAGE
  echo "FAIL: $1:$2: $3"
  failed=$((failed+1))
}
ok() { passed=$((passed+1)); }

files=(README.md docs/*.md)
declare -A anchors=()   # "file#slug" -> 1, filled on demand for every .md file linked to
anchors_of() { # anchors_of FILE: adds FILE's anchors to the table (once)
  [ -n "${anchors["$1#"]:-}" ] && return 0
  anchors["$1#"]=1
  local kind f slug
  tokenize "$1" > "$work/anchors"
  while IFS=$'\t' read -r kind f slug; do
    [ "$kind" = HEAD ] && anchors["$1#$slug"]=1
  done < "$work/anchors"
  return 0
}

# relative to the repository root, resolving . and .. (the file need not exist)
normalise() {
  local IFS=/ part out=()
  for part in $1; do
    case "$part" in
      ''|.) ;;
      ..) [ "${#out[@]}" -gt 0 ] && unset 'out[${#out[@]}-1]' || out+=(..) ;;
      *) out+=("$part") ;;
    esac
  done
  echo "${out[*]:-.}"
}

tokenize "${files[@]}" > "$work/tokens"
checked_code='^(src|include|tests|bench|scripts|cfg|weights|docs|results|\.ci)/'
while IFS=$'\t' read -r kind file line text; do
  case "$kind" in
  LINK)
    case "$text" in http:*|https:*|mailto:*) continue ;; esac
    path=${text%%#*}
    anchor=; [[ "$text" == *"#"* ]] && anchor=${text#*#}
    path=${path//%20/ }
    if [ -z "$path" ]; then
      target=$file
    elif [[ "$path" == /* ]]; then
      target=$(normalise "${path#/}")
    else
      target=$(normalise "$(dirname "$file")/$path")
    fi
    if [ -n "$path" ] && [ ! -e "$target" ]; then
      fail "$file" "$line" "link target '$text' does not exist ($target)"; continue
    fi
    if [ -n "$anchor" ] && [[ "$target" == *.md ]]; then
      anchors_of "$target"
      if [ -z "${anchors["$target#$anchor"]:-}" ]; then
        fail "$file" "$line" "link '$text': $target has no heading with the anchor #$anchor"
        continue
      fi
    fi
    ok ;;
  CODE)
    # commands and placeholders: skip a span with glob or placeholder characters
    [[ "$text" == *['*?[<>{}$']* ]] && continue
    for word in $text; do
      word=${word##*=}                                # KEY=path
      word=${word#[\"\'(]}
      while [[ "$word" =~ [.,\;:\)\"\']$ ]]; do word=${word%?}; done
      [[ "$word" =~ $checked_code ]] || continue
      if [ -e "$word" ]; then ok
      else fail "$file" "$line" "\`$word\` does not exist in the repository"; fi
    done ;;
  esac
done < "$work/tokens"

lines=$(wc -l < README.md)
if [ "$lines" -gt "$max_readme_lines" ]; then
  fail README.md "$lines" "README.md has $lines lines, more than $max_readme_lines"
else ok; fi

echo "$failed failure(s) in ${#files[@]} files"
finish test_links
