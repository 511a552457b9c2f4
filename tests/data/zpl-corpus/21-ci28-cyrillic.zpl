^XA^CI28^PW816^LL1216
^FO12,12^GB792,1192,4^FS
^FO40,40^A0N,44,44^FDПолучатель: Иванова Анна^FS
^FO40,100^A0N,36,36^FDг. Москва, ул. Тверская, д. 7, кв. 12^FS
^FO40,150^A0N,36,36^FDПВЗ: Москва Тверская 7^FS
^FO40,230^BY3^BCN,200,Y,N,N^FDWB-987654321^FS
^FO40,560^A0N,36,36^FDАртикул 447281 · Размер M · Цвет синий^FS
^FO40,640^BQN,2,6^FDQA,https://www.wildberries.ru/catalog/447281/detail.aspx^FS
^XZ
