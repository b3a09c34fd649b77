# fault_in: guest first-touch cost per 4K page, by backing, guest page size and vCPUs.
# Top: what a vCPU spends per page on the first touch. Bottom: that minus the
# second pass over the same (now populated) pages, i.e. what the fault itself
# adds to the guest loop. The dashed line is the host's anonymous 4K
# first-touch fault measured in the same run. Third: the paired samples (4K
# guest pages, one vCPU per CPU): the guest first touch over the host's first
# touch, and over the guest's own write to the then-mapped page, each taken on
# the same CPU within about a millisecond (so this machine's speed drift cancels).
name = 'fault_in'
load plots.'/common.gp'

# One row: the reference (ns), the worst harness overhead (%), privmem/upstream
# (both NaN when not measured) and how many vCPU counts each guest page size has.
ref = NaN; ovh = NaN; up = NaN; nv = 1
stats table('summary') using (ref = column(1), ovh = column(2), up = column(3), nv = int(column(4)), 1) nooutput

# Columns 2.. are (4K guest pages, each vCPU count), then (2M, each vCPU count):
# blues for 4K, oranges for 2M, darker with more vCPUs.
blues = '#9ecae1 #4292c6 #08519c #08306b'
oranges = '#fdae6b #f16913 #a63603 #7f2704'
colour(c) = (c - 2 < nv) ? word(blues, c - 1) : word(oranges, c - 1 - nv)

set multiplot layout 3,1 title "Guest first touch per 4K page".\
    ((ovh == ovh) ? sprintf("  |  harness overhead vs raw KVM_RUN loop: worst %+.1f%%", ovh) : "").\
    ((up == up) ? sprintf("  |  privmem / upstream demand_paging_test (anon, 4K, 1 vCPU): %.2fx", up) : "")
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics nomirror
set grid ytics
set key outside right top vertical

set ylabel 'ns per page per vCPU'
set title 'First touch (the guest loop included)'
set yrange [0:*]
plot for [c=2:*] table('cost') using c:xtic(1) title columnhead(c) lc rgb colour(c), \
     ref with lines dashtype 2 lw 2 lc rgb 'black' title sprintf('host anon 4K fault (%.0f ns)', ref)

set title 'First touch minus second touch of the same page (the fault alone; noise can make it negative)'
set yrange [*:*]
plot for [c=2:*] table('net') using c:xtic(1) title columnhead(c) lc rgb colour(c), \
     ref with lines dashtype 2 lw 2 lc rgb 'black' title sprintf('host anon 4K fault (%.0f ns)', ref)

set title 'Paired, same CPU and moment (4K guest pages, one vCPU per CPU): guest first touch relative to'
set ylabel 'ratio (x)'
set yrange [0:*]
set xlabel 'backing'
plot table('paired') using 3:xtic(1) title 'a host anon 4K first touch' lc rgb '#4292c6', \
     '' using 4 title 'a guest write to a mapped page' lc rgb '#74c476', \
     1 with lines dashtype 2 lw 2 lc rgb 'black' title 'equal cost'

unset multiplot
