"""python3-libvirt sparse round trip (argv: URI, input file, output file): create a raw volume of
the input's size, upload it with sparseSendAll, download it with sparseRecvAll, delete it.
The handlers are libvirt-python's documented ones (SEEK_DATA/SEEK_HOLE on the input, lseek +
ftruncate for holes on the output)."""
import errno, os, sys
import libvirt

uri, src, dst = sys.argv[1:4]
size = os.stat(src).st_size
conn = libvirt.open(uri)
pool = conn.storagePoolLookupByName("default")
vol = pool.createXML(
    "<volume><name>py-sparse</name><capacity>%d</capacity><allocation>0</allocation>"
    "<target><format type='raw'/></target></volume>" % size, 0)

def in_data(stream, fd):
    cur = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        data = os.lseek(fd, cur, os.SEEK_DATA)
    except OSError as e:
        if e.errno != errno.ENXIO:
            raise
        data = -1
    if data < 0:
        section = os.lseek(fd, 0, os.SEEK_END) - cur
        result = [False, section]
    elif data > cur:
        result = [False, data - cur]
    else:
        result = [True, os.lseek(fd, data, os.SEEK_HOLE) - data]
    os.lseek(fd, cur, os.SEEK_SET)
    return result

fd = os.open(src, os.O_RDONLY)
st = conn.newStream(0)
vol.upload(st, 0, 0, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
st.sparseSendAll(lambda s, n, fd: os.read(fd, n), in_data,
                 lambda s, length, fd: os.lseek(fd, length, os.SEEK_CUR), fd)
st.finish()
os.close(fd)

fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
def skip(stream, length, fd):
    os.ftruncate(fd, os.lseek(fd, length, os.SEEK_CUR))
    return 0
st = conn.newStream(0)
vol.download(st, 0, 0, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
st.sparseRecvAll(lambda s, buf, fd: os.write(fd, buf), skip, fd)
st.finish()
os.close(fd)
vol.delete(0)
conn.close()
print("ok")
