# interleaved fresh-JVM start() of RestartSubscriber: old TLS, new TLS, new + Netty JFR off, new + JFR off + CDS
cd /tmp/st
rm -f node.jsa
(sleep 2; echo) | java -Xmx128m -XX:+UseSerialGC -Dio.netty.jfr.enabled=false -XX:ArchiveClassesAtExit=node.jsa -cp new.jar dev.overlay.bench.RestartSubscriber 127.0.0.1:1 /tmp/node.key - - >/dev/null 2>&1
for i in 1 2 3 4 5; do
  for v in old new jfroff cds; do
    case $v in
      old) opts=""; jar=old.jar;;
      new) opts=""; jar=new.jar;;
      jfroff) opts="-Dio.netty.jfr.enabled=false"; jar=new.jar;;
      cds) opts="-Dio.netty.jfr.enabled=false -XX:SharedArchiveFile=node.jsa"; jar=new.jar;;
    esac
    r=$( (sleep 2; echo) | java -Xmx128m -XX:+UseSerialGC $opts -cp $jar dev.overlay.bench.RestartSubscriber 127.0.0.1:1 /tmp/node.key - - 2>/dev/null | grep STARTED | awk '{print $2}')
    echo "$v $r"
  done
done
